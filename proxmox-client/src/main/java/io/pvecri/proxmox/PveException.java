package io.pvecri.proxmox;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Every failure of a PVE call. The subtype says what happened; {@link #pveMessage()} is PVE's own text
 * (first choice the JSON {@code message}, else the HTTP reason phrase), {@link #status()} the HTTP status
 * (0 when no response arrived), {@link #endpoint()} the method and path template
 * ({@code PUT /nodes/{node}/lxc/{vmid}/config}). Messages never contain the token secret.
 *
 * <p>PVE reports most refusals as HTTP 500 with a text; {@code ErrorClassifier} maps the texts quoted on each
 * subtype (from the Perl sources) to the subtype.
 */
public abstract sealed class PveException extends RuntimeException {

    private final String pveMessage;
    private final int status;
    private final String endpoint;

    PveException(String pveMessage, int status, String endpoint, Throwable cause) {
        super(describe(pveMessage, status, endpoint), cause);
        this.pveMessage = Objects.requireNonNull(pveMessage, "pveMessage");
        this.status = status;
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    }

    private static String describe(String message, int status, String endpoint) {
        return message + " (" + endpoint + (status > 0 ? ", HTTP " + status : "") + ")";
    }

    /** PVE's message, trailing newline removed. */
    public String pveMessage() {
        return pveMessage;
    }

    /** HTTP status, or 0 if no HTTP response was received. */
    public int status() {
        return status;
    }

    /** {@code METHOD /path/{template}} of the failed call. */
    public String endpoint() {
        return endpoint;
    }

    /**
     * The object does not exist: {@code Configuration file 'nodes/<node>/lxc/<vmid>.conf' does not exist},
     * {@code no such task}, {@code volume '…' does not exist}, HTTP 404.
     */
    public static final class NotFound extends PveException {
        NotFound(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }

    /**
     * The VMID is taken: {@code CT <id> already exists on node '<node>'} (or {@code VM …}), also prefixed
     * {@code unable to create CT <id> - }, and nextid's 400 {@code VM <id> already exists}.
     */
    public static final class AlreadyExists extends PveException {
        private final int vmid;

        AlreadyExists(String message, int status, String endpoint, int vmid) {
            super(message, status, endpoint, null);
            this.vmid = vmid;
        }

        /** The VMID named in the message, if any. */
        public OptionalInt vmid() {
            return vmid > 0 ? OptionalInt.of(vmid) : OptionalInt.empty();
        }
    }

    /**
     * Lock contention: the {@code lock:} property ({@code CT is locked (disk)}) or the config flock
     * ({@code can't lock file '/run/lock/lxc/pve-config-<id>.lock' - got timeout}). Worth retrying.
     */
    public static final class Locked extends PveException {
        Locked(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }

    /** HTTP 403 {@code Permission check failed (/vms/100, VM.Allocate)}. */
    public static final class PermissionDenied extends PveException {
        PermissionDenied(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }

        /** The text in parentheses, e.g. {@code /vms/100, VM.Allocate}, if present. */
        public Optional<String> detail() {
            String m = pveMessage();
            int open = m.indexOf('(');
            int close = m.lastIndexOf(')');
            return open >= 0 && close > open ? Optional.of(m.substring(open + 1, close)) : Optional.empty();
        }
    }

    /** HTTP 401: token unknown, expired or wrong secret ({@code authentication failure}, {@code No ticket}). */
    public static final class AuthFailed extends PveException {
        AuthFailed(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }

    /** HTTP 400 {@code Parameter verification failed.} with per-parameter messages. */
    public static final class InvalidParameter extends PveException {
        private final Map<String, String> errors;

        InvalidParameter(String message, int status, String endpoint, Map<String, String> errors) {
            super(message, status, endpoint, null);
            this.errors = Map.copyOf(errors);
        }

        @Override
        public String getMessage() {
            return errors.isEmpty() ? super.getMessage() : super.getMessage() + " " + errors;
        }

        /** Parameter name to PVE's message, e.g. {@code memory -> value must have a minimum value of 16}. */
        public Map<String, String> errors() {
            return errors;
        }
    }

    /** PUT config with a stale digest: {@code detected modified configuration - file changed by other user? Try again.} */
    public static final class ConfigChanged extends PveException {
        ConfigChanged(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }

    /**
     * The guest is in the wrong power state for the call: {@code CT <id> already running},
     * {@code CT <id> not running}, {@code unable to destroy CT <id> - container is running}.
     */
    public static final class InvalidState extends PveException {
        InvalidState(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }

    /**
     * A task ended with an error exit status (anything but {@code OK} / {@code WARNINGS: n}).
     * {@link #logTail()} holds the last lines of the task log.
     */
    public static final class TaskFailed extends PveException {
        private final Upid upid;
        private final List<String> logTail;

        TaskFailed(Upid upid, String exitStatus, List<String> logTail) {
            super(exitStatus, 0, "task " + upid.type() + (upid.id().isEmpty() ? "" : " " + upid.id()) + " " + upid, null);
            this.upid = upid;
            this.logTail = List.copyOf(logTail);
        }

        public Upid upid() {
            return upid;
        }

        /** The task's exit status, i.e. its error text. */
        public String exitStatus() {
            return pveMessage();
        }

        public List<String> logTail() {
            return logTail;
        }

        /** True if the task failed on lock contention (retrying the whole operation may succeed). */
        public boolean lockContention() {
            return ErrorClassifier.isLockMessage(pveMessage());
        }

        @Override
        public String getMessage() {
            return super.getMessage() + (logTail.isEmpty() ? "" : "; log tail: " + String.join(" | ", logTail));
        }
    }

    /** The task did not finish before the caller's deadline. It may still be running on the node. */
    public static final class TaskTimeout extends PveException {
        private final Upid upid;

        TaskTimeout(Upid upid, Duration waited) {
            super("task still running after " + waited.toMillis() + " ms", 0, "task " + upid.type() + " " + upid, null);
            this.upid = upid;
        }

        public Upid upid() {
            return upid;
        }
    }

    /**
     * The node could not be reached or answered "try later": connection refused/reset/dropped, I/O
     * timeout, HTTP 502/503/504, PVE proxy codes 595 (connection error) / 596 (timeout), {@code no quorum}.
     * A mutating call that ended this way may or may not have happened.
     */
    public static final class Unavailable extends PveException {
        private final boolean requestSent;

        Unavailable(String message, int status, String endpoint, Throwable cause) {
            this(message, status, endpoint, cause, true);
        }

        Unavailable(String message, int status, String endpoint, Throwable cause, boolean requestSent) {
            super(message, status, endpoint, cause);
            this.requestSent = requestSent;
        }

        /**
         * False only when the request provably never reached PVE (connection refused, unknown host):
         * then even a mutating call did not happen.
         */
        public boolean requestSent() {
            return requestSent;
        }
    }

    /** The TLS handshake failed: certificate does not match the pinned fingerprint or the CA. Never retried. */
    public static final class TlsFailure extends PveException {
        TlsFailure(String message, String endpoint, Throwable cause) {
            super(message, 0, endpoint, cause);
        }
    }

    /** Any other refusal (e.g. HTTP 500 with an unclassified message, 501 {@code Method '…' not implemented}). */
    public static final class ApiError extends PveException {
        ApiError(String message, int status, String endpoint) {
            super(message, status, endpoint, null);
        }
    }
}
