package io.pvecri.network;

/**
 * Everything the network library reports. The set of causes is closed:
 * <ul>
 *   <li>{@link InvalidRequest}: the caller asked for something malformed (daemon: INVALID_ARGUMENT);</li>
 *   <li>{@link AddressExhausted}: the pod range has no free address (RESOURCE_EXHAUSTED);</li>
 *   <li>{@link PortConflict}: a hostPort is already mapped by another pod (ALREADY_EXISTS / FAILED_PRECONDITION);</li>
 *   <li>{@link NotReady}: CNI mode without a usable config, or tools missing (UNAVAILABLE);</li>
 *   <li>{@link SetupFailed}: a host command or plugin failed (INTERNAL); nothing is left half-created;</li>
 *   <li>{@link StateError}: the library's own state files cannot be read or written (INTERNAL).</li>
 * </ul>
 */
public abstract sealed class NetworkException extends Exception
        permits NetworkException.InvalidRequest, NetworkException.AddressExhausted, NetworkException.PortConflict,
                NetworkException.NotReady, NetworkException.SetupFailed, NetworkException.StateError {

    NetworkException(String message) {
        super(message);
    }

    NetworkException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The request or configuration is malformed; nothing was changed. */
    public static final class InvalidRequest extends NetworkException {
        public InvalidRequest(String message) {
            super(message);
        }
    }

    /** No free address is left in the pod range (leases held for StatefulSet pods count as used). */
    public static final class AddressExhausted extends NetworkException {
        public AddressExhausted(String message) {
            super(message);
        }
    }

    /** A requested hostPort is already mapped; {@link #otherPodId()} names the pod that holds it. */
    public static final class PortConflict extends NetworkException {
        private final String otherPodId;

        public PortConflict(String message, String otherPodId) {
            super(message);
            this.otherPodId = otherPodId;
        }

        public String otherPodId() {
            return otherPodId;
        }
    }

    /** The network is not ready (CNI: no valid config yet; bridge: ip/nft missing). */
    public static final class NotReady extends NetworkException {
        public NotReady(String message) {
            super(message);
        }
    }

    /** A host command or CNI plugin failed; everything made for the pod was unwound. */
    public static final class SetupFailed extends NetworkException {
        public SetupFailed(String message) {
            super(message);
        }

        public SetupFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The library's persisted state could not be read or written. */
    public static final class StateError extends NetworkException {
        public StateError(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
