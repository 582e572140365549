package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.function.Executable;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on the gRPC status of a failing call. */
public final class GrpcAssertions {
    private GrpcAssertions() {
    }

    /** The call must fail with exactly {@code expected}. */
    public static StatusRuntimeException assertStatus(Status.Code expected, Executable call) {
        return assertStatusIn(Set.of(expected), call);
    }

    /** The call must fail with one of {@code expected}. */
    public static StatusRuntimeException assertStatusIn(Set<Status.Code> expected, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call,
                "expected the call to fail with " + expected);
        assertTrue(expected.contains(e.getStatus().getCode()),
                () -> "expected status " + expected + " but got " + e.getStatus());
        return e;
    }

    /** The call must fail with some non-OK status that is not a transport problem. */
    public static StatusRuntimeException assertRejected(Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call, "expected the call to fail");
        Status.Code code = e.getStatus().getCode();
        assertTrue(code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED
                && code != Status.Code.CANCELLED, () -> "expected a rejection but got " + e.getStatus());
        return e;
    }

    /** The status description, never null. */
    public static String description(StatusRuntimeException e) {
        String d = e.getStatus().getDescription();
        return d == null ? "" : d;
    }
}
