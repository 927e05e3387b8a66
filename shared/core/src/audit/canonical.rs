//! The canonical JSON encoding every audit hash and signature is computed over.
//!
//! Objects have their keys sorted by their UTF-8 bytes, there is no insignificant
//! whitespace, strings are escaped the way `serde_json` escapes them (`\"`, `\\`, the short
//! forms `\b \f \n \r \t`, `\u00XX` for other control characters, everything else literal
//! UTF-8) and numbers are written as `serde_json` writes them. Parsing canonical bytes and
//! encoding them again yields the same bytes, which is what lets a verifier recompute a hash
//! from a record it read.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The canonical encoding of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out);
    out
}

/// Appends the canonical encoding of the object `map` to `out`.
pub fn append_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    write_object(map, None, out);
}

/// The canonical encoding of the object `map` without its member `skip` (if any): what a
/// record's `entry_hash` is computed over, with no copy of the record.
pub fn object_to_vec_without(map: &Map<String, Value>, skip: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_object(map, Some(skip), &mut out);
    out
}

fn write_object(map: &Map<String, Value>, skip: Option<&str>, out: &mut Vec<u8>) {
    let kept = |(key, _): &(&String, &Value)| Some(key.as_str()) != skip;
    // serde_json's map iterates in key order (a `BTreeMap` of `String`, whose order is the
    // bytes' order) unless some crate in the build turns on `preserve_order`.
    if map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b) {
        write_entries(map.iter().filter(kept), out);
    } else {
        let mut entries: Vec<(&String, &Value)> = map.iter().filter(kept).collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        write_entries(entries.into_iter(), out);
    }
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map, None, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(v, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_str(s, out),
        // Scalars have exactly one serde_json form, and writing them into a Vec cannot fail.
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write(v, out);
    }
    out.push(b'}');
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // Serialising a `str` into a `Vec` has no failure case.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_round_trip_is_stable() {
        let cases = [
            (
                json!({"b": 1, "a": [true, null, "x"]}),
                r#"{"a":[true,null,"x"],"b":1}"#,
            ),
            (json!({"z": {"y": 1, "x": 2}}), r#"{"z":{"x":2,"y":1}}"#),
            (
                json!("line\nbreak \"q\" \u{1} é"),
                "\"line\\nbreak \\\"q\\\" \\u0001 é\"",
            ),
            (json!({"n": -12, "f": 1.5}), r#"{"f":1.5,"n":-12}"#),
        ];
        for (value, expected) in cases {
            let bytes = to_vec(&value);
            if let Value::Object(map) = &value {
                assert_eq!(object_to_vec_without(map, "none"), bytes);
            }
            assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
            let reparsed: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(to_vec(&reparsed), bytes, "{expected}");
        }
    }
}
