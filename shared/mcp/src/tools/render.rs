//! The text content the model reads, rendered from a structured result.
//!
//! Compact JSON (no indentation, no spaces), with one change that reads as well and costs
//! far fewer tokens: a list of two or more objects is written as a table,
//! `{"columns": [<keys>], "rows": [[<values>], ...]}`, so each key is written once instead
//! of once per item (`null` in a row: the item has no such member). Members whose value is
//! empty (`""`, `[]`, `{}`) are left out, as absent ones are (`null`s never reach here:
//! `schema::drop_nulls`). Everything else is the structured result as it is. Measured on the demo data (docs/tools.md, "Model-visible
//! output"): `list_repositories` from 31,738 characters (pretty-printed JSON) to about
//! 12,000; the median read tool about a third smaller.

use serde_json::{Map, Value};

/// The model-facing text of `value`.
pub fn model_text(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) if items.len() >= 2 && items.iter().all(Value::is_object) => {
            write_table(out, items)
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
        Value::String(s) => write_string(out, s),
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `""`, `[]` or `{}`: said by leaving the member out.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    let mut first = true;
    for (key, value) in map.iter().filter(|(_, v)| !is_empty(v)) {
        if !first {
            out.push(',');
        }
        first = false;
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_table(out: &mut String, items: &[Value]) {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for (key, value) in map {
                if !is_empty(value) && !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    out.push_str("{\"columns\":[");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, column);
    }
    out.push_str("],\"rows\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, column) in columns.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            match item.get(column).filter(|v| !is_empty(v)) {
                Some(value) => write_value(out, value),
                None => out.push_str("null"),
            }
        }
        out.push(']');
    }
    out.push_str("]}");
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's escaping, written in place
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_of_objects_become_tables() {
        let cases = [
            (json!({"a": 1, "b": "x"}), r#"{"a":1,"b":"x"}"#),
            (
                json!({"a": "", "b": [], "c": {}, "d": 0, "e": false}),
                r#"{"d":0,"e":false}"#,
            ),
            (json!([1, 2]), "[1,2]"),
            (json!([{"a": 1}]), r#"[{"a":1}]"#),
            (
                json!({"items": [{"n": 1, "t": "a\"b"}, {"n": 2, "x": [{"k": 1}, {"k": 2}]}], "more": false}),
                r#"{"items":{"columns":["n","t","x"],"rows":[[1,"a\"b",null],[2,null,{"columns":["k"],"rows":[[1],[2]]}]]},"more":false}"#,
            ),
            (json!([{"a": 1}, 2]), r#"[{"a":1},2]"#),
        ];
        for (value, expected) in cases {
            let text = model_text(&value);
            assert_eq!(text, expected, "{value}");
            // Always valid JSON.
            serde_json::from_str::<Value>(&text).unwrap();
        }
    }

    #[test]
    fn a_table_holds_every_value_of_every_item() {
        let value = json!([{"a": 1, "b": [1, 2]}, {"b": "x", "c": {"d": null}}, {"e": ""}]);
        let table: Value = serde_json::from_str(&model_text(&value)).unwrap();
        let columns: Vec<String> = serde_json::from_value(table["columns"].clone()).unwrap();
        let rows = table["rows"].as_array().unwrap();
        for (item, row) in value.as_array().unwrap().iter().zip(rows) {
            for (i, column) in columns.iter().enumerate() {
                assert_eq!(item.get(column).unwrap_or(&Value::Null), &row[i]);
            }
            assert!(
                !columns.contains(&"e".to_string()),
                "an empty member is left out"
            );
        }
    }
}
