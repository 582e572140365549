package io.pvecri.gpu;

/**
 * Base of everything the GPU module reports. The set of causes is closed, and each maps to one
 * gRPC status in the daemon:
 * <ul>
 *   <li>{@link InvalidGpuRequestException}: the request is malformed or names a GPU this node
 *       does not have (INVALID_ARGUMENT);</li>
 *   <li>{@link GpuAdmissionException}: the request is valid but does not fit in what is free
 *       (RESOURCE_EXHAUSTED);</li>
 *   <li>{@link GpuConflictException}: the container already holds a different allocation
 *       (ALREADY_EXISTS);</li>
 *   <li>{@link NvmlException}: an NVML call failed (UNAVAILABLE);</li>
 *   <li>{@link GpuIoException}: the host's files failed us: the state dir, a device node
 *       (INTERNAL).</li>
 * </ul>
 */
public abstract sealed class GpuException extends Exception
        permits InvalidGpuRequestException, GpuAdmissionException, GpuConflictException, NvmlException,
        GpuIoException {

    GpuException(String message) {
        super(message);
    }

    GpuException(String message, Throwable cause) {
        super(message, cause);
    }
}
