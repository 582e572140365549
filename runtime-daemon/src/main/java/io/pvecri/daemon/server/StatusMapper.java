package io.pvecri.daemon.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.Log;
import io.pvecri.image.ImageInUseException;
import io.pvecri.image.ImageNotFoundException;
import io.pvecri.image.InvalidImageException;
import io.pvecri.image.RegistryException;

/** The one place where failures become gRPC statuses. */
final class StatusMapper {
    private static final Log LOG = Log.get(StatusMapper.class);

    private StatusMapper() {}

    static StatusRuntimeException toStatus(String method, Throwable t) {
        Status status = switch (t) {
            case StatusRuntimeException s -> s.getStatus();
            case CriException.NotFound e -> Status.NOT_FOUND.withDescription(e.getMessage());
            case CriException.AlreadyExists e -> Status.ALREADY_EXISTS.withDescription(e.getMessage());
            case CriException.InvalidArgument e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
            case CriException.FailedPrecondition e -> Status.FAILED_PRECONDITION.withDescription(e.getMessage());
            case CriException.ResourceExhausted e -> Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage());
            case CriException.DeadlineExceeded e -> Status.DEADLINE_EXCEEDED.withDescription(e.getMessage());
            case CriException.Unavailable e -> Status.UNAVAILABLE.withDescription(e.getMessage());
            case CriException.Internal e -> Status.INTERNAL.withDescription(e.getMessage());
            case ImageNotFoundException e -> Status.NOT_FOUND.withDescription(e.getMessage());
            case ImageInUseException e -> Status.FAILED_PRECONDITION.withDescription(e.getMessage());
            case InvalidImageException e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
            case RegistryException e -> (switch (e.reason()) {
                case UNAUTHORIZED -> Status.UNAUTHENTICATED;
                case FORBIDDEN -> Status.PERMISSION_DENIED;
                case RATE_LIMITED, SERVER_ERROR, NETWORK, TIMEOUT, PROTOCOL -> Status.UNAVAILABLE;
            }).withDescription(e.getMessage());
            default -> {
                LOG.error("rpc.unexpected_failure", t, "method", method);
                yield Status.INTERNAL.withDescription(method + " failed unexpectedly: " + t);
            }
        };
        return status.withCause(t).asRuntimeException();
    }
}
