//! Lambda entry of the jobs function: HTTP requests and EventBridge schedules on one
//! function (serves on `MCP_HOST:MCP_PORT` when not on Lambda).

fn main() -> std::process::ExitCode {
    aegis_edge::runtime::block_on(aegis_edge::runtime::run_function_with_events(
        aegis_fn_jobs::state,
        aegis_fn_jobs::router,
        aegis_fn_jobs::handle_event,
    ))
}
