//! A conservative estimate of how many bits of randomness a value holds.

use std::collections::HashMap;

/// Estimated entropy of `value` in whole bits: the smaller of
/// - length × log2(alphabet), where the alphabet is 16 for hex strings, else the sum of
///   the character classes present (lower 26, upper 26, digits 10, anything else 32);
/// - length × the Shannon entropy of the value's own character frequencies.
///
/// A fresh 32-byte random value scores about 200–250 bits in hex or base64;
/// `changeme` scores 22, `aaaaaaaa` 0.
pub fn entropy_bits(value: &str) -> u32 {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return 0;
    }
    let len = chars.len() as f64;
    let hex = chars.iter().all(char::is_ascii_hexdigit);
    let alphabet = if hex {
        16.0
    } else {
        let mut a = 0.0;
        if chars.iter().any(char::is_ascii_lowercase) {
            a += 26.0;
        }
        if chars.iter().any(char::is_ascii_uppercase) {
            a += 26.0;
        }
        if chars.iter().any(char::is_ascii_digit) {
            a += 10.0;
        }
        if chars.iter().any(|c| !c.is_ascii_alphanumeric()) {
            a += 32.0;
        }
        a
    };
    let by_alphabet = len * f64::log2(alphabet);
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_default() += 1;
    }
    let shannon: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum();
    let bits = by_alphabet.min(len * shannon);
    // Bounded by length × log2(126) < u32::MAX for any value an environment holds.
    bits.floor().clamp(0.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_score_high_and_words_low() {
        assert_eq!(entropy_bits(""), 0);
        assert_eq!(entropy_bits("aaaaaaaa"), 0);
        assert_eq!(entropy_bits("changeme"), 22);
        // 32 random bytes, hex and base64 (generated once with `openssl rand`).
        let hex = "3f9c2a7e1b84d05f6a3c9e2b7d41f8a06c5e3b9d27a14f80e6c3d9b52a7f1e04";
        let b64 = "P3wqfhuE0F9qPJ4rfUH4oGxeO50noU+A5sPZtSp/HgQ=";
        assert!(
            (200..=256).contains(&entropy_bits(hex)),
            "{}",
            entropy_bits(hex)
        );
        assert!(
            (180..=288).contains(&entropy_bits(b64)),
            "{}",
            entropy_bits(b64)
        );
        assert!(entropy_bits("password123") < 60);
    }
}
