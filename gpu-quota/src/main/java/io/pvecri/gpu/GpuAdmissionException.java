package io.pvecri.gpu;

/**
 * A valid GPU request that does not fit in what is free on this node now. The message says
 * what was asked and what is free on every GPU; the daemon maps it to RESOURCE_EXHAUSTED.
 */
public final class GpuAdmissionException extends GpuException {

    GpuAdmissionException(String message) {
        super(message);
    }
}
