package io.pvecri.gpu;

/** A GPU request that can never be satisfied as written (bad annotation, unknown GPU). */
public final class InvalidGpuRequestException extends GpuException {

    public InvalidGpuRequestException(String message) {
        super(message);
    }
}
