package io.pvecri.gpu;

/** The container already holds a GPU allocation that differs from the one asked for. */
public final class GpuConflictException extends GpuException {

    GpuConflictException(String message) {
        super(message);
    }
}
