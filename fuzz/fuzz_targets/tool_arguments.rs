//! Tool-argument decoding: arbitrary JSON objects against every tool's argument type and
//! the gate's own validation of `owner`/`repo`/`org`/`filepath`. Never panics.
#![no_main]

use std::sync::OnceLock;

use aegis_mcp::dispatch::validate_targets;
use aegis_mcp::tools::ToolRegistry;
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static ToolRegistry {
    static REGISTRY: OnceLock<ToolRegistry> = OnceLock::new();
    REGISTRY.get_or_init(ToolRegistry::standard)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let Ok(serde_json::Value::Object(args)) = serde_json::from_slice(json) else {
        return;
    };
    let specs: Vec<_> = registry().iter().collect();
    let spec = specs[selector as usize % specs.len()];
    let _ = validate_targets(Some(&args));
    let _ = spec.decode_arguments(args);
});
