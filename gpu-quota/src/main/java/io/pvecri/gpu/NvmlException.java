package io.pvecri.gpu;

/**
 * An NVML function returned an error. Carries the function, the raw return code, its
 * {@link NvmlReturn} name and NVML's own text for it (from {@code nvmlErrorString}).
 */
public final class NvmlException extends GpuException {

    private final String function;
    private final int code;
    private final String nvmlMessage;

    /**
     * @param function    the NVML function, with its arguments where they help, e.g.
     *                    {@code nvmlDeviceGetMemoryInfo(GPU 1)}
     * @param code        the {@code nvmlReturn_t} value
     * @param nvmlMessage {@code nvmlErrorString(code)}
     */
    public NvmlException(String function, int code, String nvmlMessage) {
        super(function + " failed: " + nvmlMessage + " (" + NvmlReturn.of(code).constant(code) + ")");
        this.function = function;
        this.code = code;
        this.nvmlMessage = nvmlMessage;
    }

    public String function() {
        return function;
    }

    /** The raw {@code nvmlReturn_t}. */
    public int code() {
        return code;
    }

    /** The code as a known constant ({@link NvmlReturn#UNKNOWN} for codes this build does not know). */
    public NvmlReturn error() {
        return NvmlReturn.of(code);
    }

    /** NVML's own description of the code. */
    public String nvmlMessage() {
        return nvmlMessage;
    }
}
