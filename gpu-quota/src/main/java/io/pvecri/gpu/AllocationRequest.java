package io.pvecri.gpu;

/**
 * A container's GPU request with its enforcement settings.
 *
 * @param containerId the CRI container id: the allocation's key
 */
public record AllocationRequest(String containerId, GpuRequest request, QuotaSettings quota, ContainerLabels labels) {

    public AllocationRequest {
        if (containerId == null || containerId.isBlank()) {
            throw new IllegalArgumentException("container id is required");
        }
        if (request == null || quota == null) {
            throw new IllegalArgumentException("request and quota are required");
        }
        labels = labels == null ? ContainerLabels.NONE : labels;
    }
}
