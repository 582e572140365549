package io.pvecri.gpu;

/** Where a GPU's per-container compute figures come from. */
public enum UtilizationSource {
    /** {@code nvmlDeviceGetProcessUtilization}: the driver's per-process SM samples, averaged per sample period. */
    PROCESS_SAMPLES,
    /**
     * The device's utilization ({@code nvmlDeviceGetUtilizationRates}) split among its processes in
     * proportion to their memory: the fallback when the driver has no per-process samples.
     */
    MEMORY_PROPORTIONAL
}
