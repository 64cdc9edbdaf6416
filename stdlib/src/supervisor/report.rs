//! The supervisor's reports (OTP's SASL supervisor reports), as `tracing`
//! events with target `bream_stdlib::supervisor`: one event per crash, restart,
//! failed start, failed shutdown, and intensity exceeded, each with the child's
//! id, its pid and the reason as fields.

use bream::{ExitReason, Pid};

use crate::start::StartError;

const TARGET: &str = "bream_stdlib::supervisor";

/// A child exited and the supervisor noticed (OTP's `child_terminated`).
pub(crate) fn child_terminated(id: &str, pid: Pid, reason: &ExitReason) {
    tracing::error!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        child_id = id,
        pid = ?pid,
        reason = ?reason,
        "child terminated"
    );
}

/// A child was started again; `reason` is the exit that caused it.
pub(crate) fn child_restarted(id: &str, pid: Pid, reason: &ExitReason) {
    tracing::info!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        child_id = id,
        pid = ?pid,
        reason = ?reason,
        "child restarted"
    );
}

/// A child's start function failed (OTP's `start_error`).
pub(crate) fn start_error(id: &str, error: &StartError) {
    tracing::error!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        child_id = id,
        error = %error,
        "child failed to start"
    );
}

/// A child exited with another reason than its shutdown asked for
/// (OTP's `shutdown_error`).
pub(crate) fn shutdown_error(id: &str, pid: Pid, reason: &ExitReason) {
    tracing::error!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        child_id = id,
        pid = ?pid,
        reason = ?reason,
        "child shutdown error"
    );
}

/// Too many restarts: the supervisor gives up (OTP's
/// `reached_max_restart_intensity`).
pub(crate) fn max_intensity(id: &str, pid: Pid, reason: &ExitReason) {
    tracing::error!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        child_id = id,
        pid = ?pid,
        reason = ?reason,
        "reached max restart intensity; shutting down"
    );
}

/// A significant child exited and the supervisor shuts itself down
/// (`AutoShutdown`).
pub(crate) fn auto_shutdown(pid: Pid, reason: &ExitReason) {
    tracing::info!(
        target: TARGET,
        supervisor = ?bream::self_pid(),
        pid = ?pid,
        reason = ?reason,
        "significant child exited; auto shutdown"
    );
}
