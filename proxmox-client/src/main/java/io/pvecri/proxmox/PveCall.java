package io.pvecri.proxmox;

import java.time.Duration;
import java.util.Objects;

/**
 * One HTTP exchange with PVE, as reported to {@link PveCallListener}. Retried calls are reported once
 * per attempt. All fields are bounded, fit for metric tags: no VMIDs, no UPIDs, no secrets.
 *
 * @param method   HTTP method
 * @param endpoint path template, e.g. {@code /nodes/{node}/lxc/{vmid}/config}
 * @param node     the {@code {node}} argument, or empty for cluster-wide calls
 * @param status   HTTP status, 0 if no response arrived
 * @param latency  time from send to parsed response (or failure)
 * @param outcome  {@code ok}, or the failure kind: {@code not_found}, {@code already_exists}, {@code locked},
 *                 {@code permission_denied}, {@code auth_failed}, {@code invalid_parameter},
 *                 {@code config_changed}, {@code invalid_state}, {@code unavailable}, {@code tls_failure},
 *                 {@code api_error}
 */
public record PveCall(String method, String endpoint, String node, int status, Duration latency, String outcome) {
    public PveCall {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(latency, "latency");
        Objects.requireNonNull(outcome, "outcome");
    }

    public boolean ok() {
        return outcome.equals("ok");
    }

    /** The outcome tag for an exception (the ones above; task failures give {@code task_failed}/{@code task_timeout}). */
    public static String outcomeOf(PveException e) {
        return switch (e) {
            case PveException.NotFound x -> "not_found";
            case PveException.AlreadyExists x -> "already_exists";
            case PveException.Locked x -> "locked";
            case PveException.PermissionDenied x -> "permission_denied";
            case PveException.AuthFailed x -> "auth_failed";
            case PveException.InvalidParameter x -> "invalid_parameter";
            case PveException.ConfigChanged x -> "config_changed";
            case PveException.InvalidState x -> "invalid_state";
            case PveException.TaskFailed x -> "task_failed";
            case PveException.TaskTimeout x -> "task_timeout";
            case PveException.Unavailable x -> "unavailable";
            case PveException.TlsFailure x -> "tls_failure";
            case PveException.ApiError x -> "api_error";
        };
    }
}
