//! Headless Chromium driven over the DevTools protocol (CDP), for the HTML report's
//! browser tests. A small client: one WebSocket (RFC 6455, text frames, client
//! masking) over a blocking `TcpStream` to `--remote-debugging-port`, JSON commands
//! with ids, events buffered per session. Chromium picks a free port and writes it to
//! `DevToolsActivePort` in its profile, so two test runs never race for one.
//!
//! Why CDP rather than `--dump-dom` / `--screenshot`: one page load answers
//! everything — console messages and exceptions (`Runtime`, `Log`), every request the
//! page makes (`Network.requestWillBeSent`), the DOM as rendered (`Runtime.evaluate`)
//! and screenshots at any width (`Emulation` + `Page.captureScreenshot`).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// Flags every launch uses: headless, and nothing that talks to the network.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
];

/// Where Chromium is: `$PREFLIGHT_CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("PREFLIGHT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.exists().then_some(p)
}

/// A running headless Chromium. Killed on drop.
pub struct Browser {
    child: Child,
    ws: Socket,
    next: u64,
    /// Events not yet claimed, in arrival order.
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

/// What one page load showed.
pub struct Load {
    /// Console errors, uncaught exceptions and error log entries (CSP violations
    /// among them).
    pub errors: Vec<String>,
    /// Every URL the page requested, the page itself included.
    pub requests: Vec<String>,
    /// From `Page.navigate` to the load event with layout done (read by the
    /// `html_report` bench; the tests assert no time).
    #[allow(dead_code, reason = "only the bench reads it")]
    pub wall: Duration,
}

impl Browser {
    /// Starts Chromium, or `None` when it is not installed (the caller skips, saying so).
    pub fn launch() -> Option<Browser> {
        let bin = chromium()?;
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(bin)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--remote-debugging-address=127.0.0.1")
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let active = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&active) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_string(), path.trim().to_string());
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromium wrote no DevToolsActivePort in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let ws = Socket::connect(&format!("127.0.0.1:{port}"), &path);
        Some(Browser {
            child,
            ws,
            next: 0,
            events: VecDeque::new(),
            _profile: profile,
        })
    }

    /// Sends a command (to a page's `session`, or the browser) and waits for its
    /// result; events that arrive meanwhile are kept.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(&msg.to_string());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "{method}: no answer in 60 s");
            let v = self.ws.recv();
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Waits for event `method` of `session`; earlier events stay buffered.
    fn wait_for(&mut self, session: &str, method: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        if self
            .events
            .iter()
            .any(|e| e["method"] == method && e["sessionId"] == session)
        {
            return;
        }
        loop {
            assert!(Instant::now() < deadline, "no {method} within {timeout:?}");
            let v = self.ws.recv();
            let found = v["method"] == method && v["sessionId"] == session;
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
            if found {
                return;
            }
        }
    }

    /// Opens a new tab of `width` px (a phone's viewport when `mobile`), optionally
    /// with JavaScript off; returns its session.
    pub fn tab(&mut self, width: u32, mobile: bool, javascript: bool) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("targetId").to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let s = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            self.call(Some(&s), &format!("{domain}.enable"), json!({}));
        }
        self.call(
            Some(&s),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": if mobile { 844 } else { 900 },
                   "deviceScaleFactor": 1, "mobile": mobile}),
        );
        if !javascript {
            self.call(
                Some(&s),
                "Emulation.setScriptExecutionDisabled",
                json!({"value": true}),
            );
        }
        s
    }

    /// Loads `file` in tab `s`: what went wrong, what was requested, how long it took.
    pub fn load(&mut self, s: &str, file: &Path) -> Load {
        self.events.retain(|e| e["sessionId"] != s);
        let url = format!("file://{}", file.display());
        let start = Instant::now();
        self.call(Some(s), "Page.navigate", json!({"url": url}));
        self.wait_for(s, "Page.loadEventFired", Duration::from_secs(60));
        // Layout is done once a size can be read.
        self.eval(s, "document.documentElement.getBoundingClientRect().height");
        let wall = start.elapsed();
        // Late console messages (a script error after load) get a moment to arrive;
        // a command sent after it collects them. (No page timer: with JavaScript off
        // it would never fire.)
        std::thread::sleep(Duration::from_millis(150));
        self.eval(s, "1");
        let mut load = Load {
            errors: vec![],
            requests: vec![],
            wall,
        };
        for e in self.events.iter().filter(|e| e["sessionId"] == s) {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or_default() {
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                    load.errors
                        .push(format!("console.{}: {}", p["type"], p["args"]));
                }
                "Runtime.exceptionThrown" => {
                    load.errors
                        .push(format!("exception: {}", p["exceptionDetails"]));
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    load.errors.push(format!(
                        "log ({}): {}",
                        p["entry"]["source"], p["entry"]["text"]
                    ));
                }
                "Network.requestWillBeSent" => {
                    load.requests
                        .push(p["request"]["url"].as_str().unwrap_or("?").to_string());
                }
                _ => {}
            }
        }
        load
    }

    /// Evaluates `js` in tab `s` (awaiting a promise) and returns its value.
    pub fn eval(&mut self, s: &str, js: &str) -> Value {
        let r = self.call(
            Some(s),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{js}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Saves a PNG of tab `s`: the whole page, at most `max_height` px of it.
    pub fn screenshot(&mut self, s: &str, to: &Path, max_height: u32) {
        let m = self.call(Some(s), "Page.getLayoutMetrics", json!({}));
        let size = &m["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0).ceil();
        let height = size["height"]
            .as_f64()
            .unwrap_or(900.0)
            .ceil()
            .min(f64::from(max_height));
        let shot = self.call(
            Some(s),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        std::fs::write(to, png).expect("write screenshot");
    }

    /// Prints tab `s` to PDF (the print stylesheet) and saves it.
    pub fn pdf(&mut self, s: &str, to: &Path) {
        let r = self.call(Some(s), "Page.printToPDF", json!({"printBackground": true}));
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("pdf data"))
            .expect("base64 PDF");
        std::fs::write(to, pdf).expect("write pdf");
    }

    /// Closes tab `s`.
    pub fn close(&mut self, s: &str) {
        self.call(Some(s), "Page.close", json!({}));
        self.events.retain(|e| e["sessionId"] != s);
    }
}

impl Drop for Browser {
    /// Asks Chromium to quit (so its helper processes go with it), then kills it if
    /// it has not within 5 s.
    fn drop(&mut self) {
        let _ = self
            .ws
            .try_frame(0x1, br#"{"id":0,"method":"Browser.close"}"#);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client WebSocket: text frames out (masked), frames in until a whole message.
struct Socket {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    mask: u32,
}

impl Socket {
    fn connect(addr: &str, path: &str) -> Socket {
        let stream = TcpStream::connect(addr).expect("connect to chromium");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let mut writer = stream.try_clone().expect("clone stream");
        write!(
            writer,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: cHJlZmxpZ2h0LWh0bWwtdGVzdA==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("send handshake");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("handshake status");
        assert!(status.contains(" 101 "), "websocket refused: {status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("handshake header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Socket {
            reader,
            writer,
            mask: 0x5a17_c3e9,
        }
    }

    fn frame(&mut self, opcode: u8, payload: &[u8]) {
        self.try_frame(opcode, payload).expect("send frame");
    }

    /// Sends one masked frame.
    fn try_frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        self.mask = self.mask.rotate_left(7) ^ 0x9e37_79b9;
        let key = self.mask.to_be_bytes();
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.writer.write_all(&f)
    }

    fn send(&mut self, text: &str) {
        self.frame(0x1, text.as_bytes());
    }

    /// The next whole message, parsed as JSON. Pings are answered.
    fn recv(&mut self) -> Value {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head).expect("frame header");
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            let masked = head[1] & 0x80 != 0;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.reader.read_exact(&mut b).expect("length");
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.reader.read_exact(&mut b).expect("length");
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut key = [0u8; 4];
            if masked {
                self.reader.read_exact(&mut key).expect("mask");
            }
            let mut payload = vec![0u8; usize::try_from(len).expect("frame size")];
            self.reader.read_exact(&mut payload).expect("payload");
            if masked {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= key[i % 4];
                }
            }
            match opcode {
                0x0..=0x2 => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return serde_json::from_slice(&message).expect("CDP message is JSON");
                    }
                }
                0x8 => panic!("chromium closed the DevTools connection"),
                0x9 => self.frame(0xA, &payload),
                _ => {}
            }
        }
    }
}
