//! The prometheus probe against Debian's real `prometheus` (scraping the testbed's
//! `/metrics`) and `prometheus-alertmanager` (fed by a Prometheus alerting rule and by
//! posted alerts), each started on a free loopback port in a temp dir.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use preflight_core::{Blame, Context, Facts, Failure};
use preflight_probe_prometheus::PrometheusProbe;
use preflight_testbed::Testbed;
use preflight_testbed::trial;
use serde_json::{Value, json};

/// A server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn spawn(program: &str, args: &[String]) -> Server {
    Server(
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed (scripts/test.sh installs it): {e}")
            }),
    )
}

/// A plain-HTTP client for test setup (reqwest needs a rustls provider installed).
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn wait_ready(server: &mut Server, url: &str) {
    let client = client();
    let t0 = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("server for {url} exited at start: {status}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{url} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Alertmanager on a free port, routing everything to a receiver that does nothing.
async fn alertmanager(dir: &std::path::Path) -> (Server, String) {
    let port = free_port();
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .expect("write");
    let mut server = spawn(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("am").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
            "--log.level=warn".into(),
        ],
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&mut server, &format!("{url}/-/ready")).await;
    (server, url)
}

/// Prometheus scraping `target` every second, with one always-firing P1 rule sent to
/// `alertmanager`.
async fn prometheus(dir: &std::path::Path, target: &str, alertmanager: &str) -> (Server, String) {
    let port = free_port();
    let rules = dir.join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: testbed\n    rules:\n      - alert: PoolConfigured\n        expr: testbed_db_pool_max > 0\n        labels:\n          severity: P1\n",
    )
    .expect("write");
    let config = dir.join("prometheus.yml");
    let am = alertmanager.trim_start_matches("http://");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am}']\nscrape_configs:\n  - job_name: testbed\n    static_configs:\n      - targets: ['{target}']\n",
            rules.display()
        ),
    )
    .expect("write");
    let mut server = spawn(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--log.level=warn".into(),
        ],
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&mut server, &format!("{url}/-/ready")).await;
    (server, url)
}

fn context() -> Context {
    Context::new(Duration::from_secs(10))
}

/// One attempt; facts are checked against `PrometheusProbe::FACTS`, and each mode
/// reports all of its own facts and none of the other's.
async fn observe(v: Value) -> Result<Facts, Failure> {
    let r = trial::attempt(&PrometheusProbe::new(), v.clone(), &context()).await;
    if let Ok(facts) = &r {
        let names: Vec<&str> = facts.keys().map(String::as_str).collect();
        if v.get("alertmanager").is_some() {
            assert_eq!(names, ["alerts", "firing"], "{facts:?}");
        } else {
            assert_eq!(names, ["value", "count", "series", "warnings"], "{facts:?}");
        }
    }
    r
}

/// A failure of `observe`, asserting who is blamed.
async fn fails(v: Value, blame: Blame) -> Failure {
    let e = observe(v).await.expect_err("a failure");
    assert_eq!(e.blame(), blame, "{e}");
    e
}

/// Observes until `ok` holds (scrapes and rule evaluations take a few seconds).
async fn until(v: Value, ok: impl Fn(&Facts) -> bool) -> Facts {
    let t0 = Instant::now();
    loop {
        let f = observe(v.clone()).await.expect("facts");
        if ok(&f) {
            return f;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "never true for {v}: last facts {f:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn post(url: &str, body: Value) {
    let r = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert!(r.status().is_success(), "{url}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_alerts_and_hostile_answers() {
    let bed = Testbed::start().await.expect("testbed");
    let dir = tempfile::tempdir().expect("tmp");
    let (_am, am_url) = alertmanager(dir.path()).await;
    let target = bed.http_url().trim_start_matches("http://").to_string();
    let (_prom, prom_url) = prometheus(dir.path(), &target, &am_url).await;

    // Instant queries over the testbed's scraped metrics.
    let up = until(
        json!({"url": prom_url, "query": "up{job='testbed'}"}),
        |f| f["count"] == 1,
    )
    .await;
    assert_eq!(up["value"], 1.0);
    assert_eq!(up["series"][0]["labels"]["job"], "testbed");
    let pool = observe(json!({"url": prom_url,
        "query": "sum(testbed_db_pool_connections{state='in_use'}) / sum(testbed_db_pool_max)"}))
    .await
    .expect("facts");
    assert_eq!(pool["value"], 0.2);
    // Counted after each response: the first scrape sees no request yet.
    let served = until(
        json!({"url": prom_url, "query": "testbed_http_requests_total"}),
        |f| f["count"] == 1,
    )
    .await;
    assert_eq!(served["series"][0]["labels"]["code"], "200");
    let none = observe(json!({"url": prom_url, "query": "nonexistent_metric"}))
        .await
        .expect("facts");
    assert_eq!(
        (none["count"].clone(), none["value"].clone()),
        (json!(0), Value::Null)
    );
    let scalar = observe(json!({"url": prom_url, "query": "scalar(testbed_db_pool_max) * 2"}))
        .await
        .expect("facts");
    assert_eq!(scalar["value"], 40.0);

    // Malformed PromQL is the checklist's fault: an error, with Prometheus' message.
    let e = fails(json!({"url": prom_url, "query": "sum(("}), Blame::Checker).await;
    assert!(
        e.reason()
            .starts_with("Prometheus answered HTTP 400, bad_data: "),
        "{e}"
    );

    // Alertmanager: the rule-driven P1 alert arrives from Prometheus itself.
    let p1 = until(
        json!({"alertmanager": am_url, "match": {"severity": "P1"}}),
        |f| f["firing"] == 1,
    )
    .await;
    assert_eq!(p1["alerts"][0]["labels"]["alertname"], "PoolConfigured");
    // No P0 yet.
    let p0 = observe(json!({"alertmanager": am_url, "match": {"severity": "P0"}}))
        .await
        .expect("facts");
    assert_eq!(
        (p0["firing"].clone(), p0["alerts"].clone()),
        (json!(0), json!([]))
    );
    // Two posted P0 alerts, one of them silenced.
    post(
        &format!("{am_url}/api/v2/alerts"),
        json!([
            {"labels": {"alertname": "HighErrorRate", "severity": "P0", "service": "api"}},
            {"labels": {"alertname": "DiskFull", "severity": "P0", "service": "db"}}
        ]),
    )
    .await;
    post(
        &format!("{am_url}/api/v2/silences"),
        json!({"matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": false, "isEqual": true}],
               "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
               "createdBy": "preflight tests", "comment": "known"}),
    )
    .await;
    let p0 = until(
        json!({"alertmanager": am_url, "match": {"severity": "P0"}}),
        |f| {
            f["alerts"]
                .as_array()
                .is_some_and(|a| a.len() == 2 && a.iter().any(|x| x["state"] == "suppressed"))
        },
    )
    .await;
    assert_eq!(p0["firing"], 1, "{p0:?}");
    let api =
        observe(json!({"alertmanager": am_url, "match": {"severity": "P0", "service": "api"}}))
            .await
            .expect("facts");
    assert_eq!(api["alerts"].as_array().map(Vec::len), Some(1));
    assert_eq!(api["alerts"][0]["state"], "active");
    // Every alert, unfiltered.
    let all = observe(json!({"alertmanager": am_url}))
        .await
        .expect("facts");
    assert_eq!(all["alerts"].as_array().map(Vec::len), Some(3), "{all:?}");

    // Hostile answers: not Prometheus, an HTTP error, nothing at all, nobody home.
    let e = fails(json!({"url": bed.http_url(), "query": "up"}), Blame::Target).await;
    assert!(e.reason().contains("not a Prometheus API response"), "{e}");
    let e = fails(
        json!({"url": format!("{}/big/5000", bed.http_url()), "query": "up"}),
        Blame::Target,
    )
    .await;
    assert!(
        matches!(
            e.downcast_ref::<preflight_probe_prometheus::Error>(),
            Some(preflight_probe_prometheus::Error::NotPrometheus { status: 404, .. })
        ),
        "{e}"
    );
    let e = fails(
        json!({"alertmanager": format!("{}/nowhere", bed.http_url())}),
        Blame::Target,
    )
    .await;
    assert!(e.reason().contains("HTTP 404"), "{e}");
    let hang = trial::observer(
        &PrometheusProbe::new(),
        json!({"url": format!("http://{}", bed.hang_addr()), "query": "up"}),
        &context(),
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), hang.observe())
            .await
            .is_err(),
        "a silent server cannot produce facts"
    );
    let e = fails(
        json!({"url": format!("http://{}", bed.closed_addr()), "query": "up"}),
        Blame::Target,
    )
    .await;
    assert_eq!(
        e.reason(),
        format!("connection refused by {}", bed.closed_addr())
    );
    assert!(!e.is_timeout());
}
