package io.pvecri.network;

import java.time.Duration;

/**
 * One finished operation, for metrics.
 *
 * @param operation what ran
 * @param podId     the pod (empty for RECONCILE)
 * @param duration  wall time
 * @param success   false when it threw or reported errors
 * @param error     the exception class simple name or "errors" (empty on success)
 */
public record NetworkEvent(Operation operation, String podId, Duration duration, boolean success, String error) {
    public enum Operation { SET_UP, TEAR_DOWN, RECONCILE }
}
