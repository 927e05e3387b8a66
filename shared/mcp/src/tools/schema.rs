//! Portable tool schemas: what schemars derives, rewritten into the subset every client
//! validates without warnings (the TypeScript SDK's Ajv in strict mode, the Inspector).
//!
//! - Only standard JSON Schema 2020-12 `format`s survive. schemars' numeric formats
//!   (`uint32`, `int64`, `double`, ...) become `minimum`/`maximum` bounds where they say
//!   something a validator can check, and vanish otherwise.
//! - An optional field is simply not `required`: `type: [X, "null"]` becomes `type: X`,
//!   `anyOf: [A, {type: null}]` becomes `A`, and the `default: null` schemars adds goes.
//!   Arguments still accept `null` (they decode into `Option`), and structured results
//!   leave absent values out instead of writing `null` (`drop_nulls`), so each side
//!   agrees with its schema.

use serde_json::{Map, Value};

/// The formats of JSON Schema 2020-12 (validation vocabulary, section 7.3).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// The range a numeric format promises, as `(minimum, maximum)`; `None` for a bound
/// that is not worth stating (64-bit limits are beyond what JSON numbers carry exactly).
fn numeric_bounds(format: &str) -> Option<(Option<i64>, Option<i64>)> {
    Some(match format {
        "uint8" => (Some(0), Some(u8::MAX.into())),
        "uint16" => (Some(0), Some(u16::MAX.into())),
        "uint32" => (Some(0), Some(u32::MAX.into())),
        "uint64" | "uint" | "uint128" | "usize" => (Some(0), None),
        "int8" => (Some(i8::MIN.into()), Some(i8::MAX.into())),
        "int16" => (Some(i16::MIN.into()), Some(i16::MAX.into())),
        "int32" => (Some(i32::MIN.into()), Some(i32::MAX.into())),
        "int64" | "int" | "int128" | "isize" | "float" | "double" => (None, None),
        _ => return None,
    })
}

/// Rewrites `schema` in place into the portable subset (see the module comment).
pub fn make_portable(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            portable_object(map);
            for (key, value) in map.iter_mut() {
                // `properties` and `$defs` hold schemas by name; `enum`, `const` and
                // `default` hold data, not schemas.
                if !matches!(key.as_str(), "enum" | "const" | "default" | "examples") {
                    make_portable(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_portable),
        _ => {}
    }
}

fn portable_object(map: &mut Map<String, Value>) {
    if let Some(Value::String(format)) = map.get("format") {
        if !STANDARD_FORMATS.contains(&format.as_str()) {
            let bounds = numeric_bounds(format);
            map.remove("format");
            if let Some((min, max)) = bounds {
                tighten(map, "minimum", min, |new, old| new > old);
                tighten(map, "maximum", max, |new, old| new < old);
            }
        }
    }
    // `type: [X, "null"]` -> `type: X`
    if let Some(Value::Array(types)) = map.get("type") {
        let kept: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if kept.len() < types.len() {
            let single = kept.len() == 1;
            map.insert(
                "type".into(),
                if single {
                    kept.into_iter().next().unwrap_or(Value::Null)
                } else {
                    Value::Array(kept)
                },
            );
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
        }
    }
    // `anyOf: [A, {type: null}]` -> A, keeping this node's own annotations
    let nullable_any_of = match map.get("anyOf") {
        Some(Value::Array(options)) => options.len() == 2 && options.iter().any(is_null_schema),
        _ => false,
    };
    if nullable_any_of {
        if let Some(Value::Array(options)) = map.remove("anyOf") {
            if let Some(Value::Object(inner)) = options.into_iter().find(|o| !is_null_schema(o)) {
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
        }
        if map.get("default") == Some(&Value::Null) {
            map.remove("default");
        }
    }
    if map.get("default") == Some(&Value::Null) && !map.contains_key("type") {
        map.remove("default");
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// Sets `key` to `bound` unless the schema already says something at least as strict.
fn tighten(
    map: &mut Map<String, Value>,
    key: &str,
    bound: Option<i64>,
    stricter: impl Fn(i64, i64) -> bool,
) {
    let Some(bound) = bound else { return };
    match map.get(key).and_then(Value::as_f64) {
        Some(existing) if !stricter(bound, existing as i64) => {}
        _ => {
            map.insert(key.into(), bound.into());
        }
    }
}

/// Removes every object member whose value is `null`, at any depth: an absent optional
/// value is left out of structured results, as their portable schemas describe them.
pub fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_become_portable() {
        let cases = [
            (
                json!({"type": ["integer", "null"], "format": "uint32", "minimum": 1, "default": null}),
                json!({"type": "integer", "minimum": 1, "maximum": 4294967295u64}),
            ),
            (
                json!({"type": "integer", "format": "int64"}),
                json!({"type": "integer"}),
            ),
            (
                json!({"type": "integer", "format": "uint64", "minimum": 0}),
                json!({"type": "integer", "minimum": 0}),
            ),
            (
                json!({"type": "integer", "format": "uint32", "maximum": 50}),
                json!({"type": "integer", "minimum": 0, "maximum": 50}),
            ),
            (
                json!({"type": "number", "format": "double"}),
                json!({"type": "number"}),
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!({"type": "string", "format": "date-time"}),
            ),
            (
                json!({"description": "d", "anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}),
                json!({"description": "d", "$ref": "#/$defs/X"}),
            ),
            (
                json!({"properties": {"a": {"type": ["array", "null"], "items": {"type": "integer", "format": "int32"}}},
                       "enum_holder": {"enum": [null, "x"]}}),
                json!({"properties": {"a": {"type": "array", "items": {"type": "integer", "minimum": -2147483648i64, "maximum": 2147483647}}},
                       "enum_holder": {"enum": [null, "x"]}}),
            ),
        ];
        for (mut input, expected) in cases {
            let original = input.clone();
            make_portable(&mut input);
            assert_eq!(input, expected, "{original}");
        }
    }

    #[test]
    fn nulls_leave_objects_not_arrays() {
        let mut v = json!({"a": null, "b": {"c": null, "d": 1}, "e": [null, {"f": null}]});
        drop_nulls(&mut v);
        assert_eq!(v, json!({"b": {"d": 1}, "e": [null, {}]}));
    }
}
