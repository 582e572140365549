package io.pvecri.gpu;

import java.util.Optional;

/**
 * The enforcement state of one container with a share.
 *
 * @param consecutiveOverSamples samples in a row above the share, now
 * @param memoryViolations       violations (whole windows over the share) on memory, since allocation
 * @param computeViolations      the same on compute
 * @param stopRequested          the {@link Stopper} has been called successfully
 * @param lastViolation          the last violation's description
 */
public record QuotaStatus(String containerId, ContainerLabels labels, QuotaPolicy policy, int violationWindow,
                          int consecutiveOverSamples, long memoryViolations, long computeViolations,
                          boolean stopRequested, Optional<String> lastViolation) {

    public long violations() {
        return memoryViolations + computeViolations;
    }
}
