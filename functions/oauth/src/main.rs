//! Lambda entry of the oauth function (serves on `MCP_HOST:MCP_PORT` when not on Lambda).

fn main() -> std::process::ExitCode {
    aegis_edge::runtime::block_on(aegis_edge::runtime::run_function(
        aegis_fn_oauth::state,
        aegis_fn_oauth::router,
    ))
}
