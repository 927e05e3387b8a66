//! Secret masking on every log record: the JSON log writer passes each formatted line
//! through the scanner before it reaches stderr (CloudWatch on Lambda).
//!
//! A line that parses as JSON is redacted as JSON, so fields under sensitive keys
//! (`authorization`, `token`, `password`, ... : the spec's `sanitize_context`) are masked
//! whatever they hold and every other string is scanned; anything else is scanned as
//! text. Logs are always masked, whatever `SECRET_DETECTION_MODE` says about tool output:
//! a log line has no reader who needs the secret.

use std::io::Write;
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

use aegis_core::config::SecretDetectionMode;
use aegis_core::secrets::SecretScanner;

/// Masks one formatted log line (with or without its trailing newline).
pub fn mask_log_line(scanner: &SecretScanner, line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let body = text.trim_end_matches('\n');
    let mut out = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            if scanner
                .redact_json(&mut value, SecretDetectionMode::Mask)
                .is_empty()
            {
                body.to_string()
            } else {
                value.to_string()
            }
        }
        Err(_) => scanner
            .redact(body, SecretDetectionMode::Mask)
            .text
            .into_owned(),
    };
    if text.ends_with('\n') {
        out.push('\n');
    }
    out.into_bytes()
}

/// A `MakeWriter` that masks every record before handing it to `inner`.
#[derive(Clone)]
pub struct MaskingMakeWriter<M> {
    scanner: Arc<SecretScanner>,
    inner: M,
}

impl<M> MaskingMakeWriter<M> {
    pub fn new(scanner: Arc<SecretScanner>, inner: M) -> Self {
        Self { scanner, inner }
    }
}

/// One record being written: buffered, masked and passed on when dropped (the formatter
/// writes a whole record and then drops its writer).
pub struct MaskedRecord<W: Write> {
    scanner: Arc<SecretScanner>,
    buffer: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for MaskedRecord<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for MaskedRecord<W> {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let masked = mask_log_line(&self.scanner, &self.buffer);
        // A log write that fails has nowhere to report to.
        let _ = self.inner.write_all(&masked);
        let _ = self.inner.flush();
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for MaskingMakeWriter<M> {
    type Writer = MaskedRecord<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        MaskedRecord {
            scanner: Arc::clone(&self.scanner),
            buffer: Vec::with_capacity(256),
            inner: self.inner.make_writer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    #[test]
    fn every_record_is_masked() {
        let scanner = Arc::new(SecretScanner::new().unwrap());
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(MaskingMakeWriter::new(scanner, capture.clone()))
            .finish();
        let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                authorization = "Bearer opaque-value",
                "authentication failed"
            );
            tracing::error!(error = %format!("gitea said: bad token {token}"), "upstream error");
            tracing::info!(tool = "get_issue", "an ordinary record");
        });
        let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            !out.contains("opaque-value") && !out.contains(&token),
            "{out}"
        );
        assert_ne!(lines[0]["authorization"], "Bearer opaque-value");
        assert!(lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("gitea said: bad token "));
        assert_eq!(lines[2]["tool"], "get_issue");
        assert_eq!(lines[2]["message"], "an ordinary record");
    }

    #[test]
    fn plain_text_lines_are_scanned_too() {
        let scanner = SecretScanner::new().unwrap();
        let key = format!("AKIA{}", "Q3EGRXN7TBZL4PMW");
        let out = mask_log_line(&scanner, format!("key={key} end\n").as_bytes());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(&key) && out.ends_with(" end\n"), "{out}");
    }
}
