package io.pvecri.daemon.errors;

/**
 * The daemon's failures, one subclass per gRPC status they map to. Every message is written
 * for a person reading crictl or kubelet events: it says what was wrong and what to do.
 * The mapping to gRPC statuses lives in one place, {@code io.pvecri.daemon.server.StatusMapper}.
 */
public abstract sealed class CriException extends RuntimeException
        permits CriException.NotFound, CriException.AlreadyExists, CriException.InvalidArgument,
                CriException.FailedPrecondition, CriException.ResourceExhausted,
                CriException.DeadlineExceeded, CriException.Unavailable, CriException.Internal {

    private CriException(String message, Throwable cause) {
        super(message, cause);
    }

    public static NotFound notFound(String message) {
        return new NotFound(message);
    }

    public static AlreadyExists alreadyExists(String message) {
        return new AlreadyExists(message);
    }

    public static InvalidArgument invalid(String message) {
        return new InvalidArgument(message);
    }

    public static FailedPrecondition precondition(String message) {
        return new FailedPrecondition(message);
    }

    public static Internal internal(String message, Throwable cause) {
        return new Internal(message, cause);
    }

    public static final class NotFound extends CriException {
        NotFound(String m) { super(m, null); }
    }

    public static final class AlreadyExists extends CriException {
        AlreadyExists(String m) { super(m, null); }
    }

    public static final class InvalidArgument extends CriException {
        InvalidArgument(String m) { super(m, null); }
    }

    public static final class FailedPrecondition extends CriException {
        FailedPrecondition(String m) { super(m, null); }
    }

    public static final class ResourceExhausted extends CriException {
        public ResourceExhausted(String m) { super(m, null); }
    }

    public static final class DeadlineExceeded extends CriException {
        public DeadlineExceeded(String m) { super(m, null); }
    }

    public static final class Unavailable extends CriException {
        public Unavailable(String m, Throwable cause) { super(m, cause); }
    }

    public static final class Internal extends CriException {
        Internal(String m, Throwable cause) { super(m, cause); }
    }
}
