package io.pvecri.gpu;

import java.io.IOException;

/** The host's files failed: the allocation state dir, or a GPU device node. */
public final class GpuIoException extends GpuException {

    GpuIoException(String message) {
        super(message);
    }

    GpuIoException(String message, IOException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }
}
