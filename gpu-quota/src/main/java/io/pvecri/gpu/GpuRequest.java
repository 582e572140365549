package io.pvecri.gpu;

import java.util.List;
import java.util.Optional;

/**
 * What a container asks for. Parsed from NVIDIA_VISIBLE_DEVICES and pve-cri annotations by
 * {@link GpuRequests}, or built directly.
 */
public sealed interface GpuRequest {

    /** A canonical one-line form; stored with the allocation to recognise a repeated request. */
    String canonical();

    /** No GPU (NVIDIA_VISIBLE_DEVICES unset, empty or {@code void}). */
    record None() implements GpuRequest {
        @Override
        public String canonical() {
            return "none";
        }
    }

    /** No GPU but the driver's libraries and tools (NVIDIA_VISIBLE_DEVICES={@code none}). */
    record DriverOnly() implements GpuRequest {
        @Override
        public String canonical() {
            return "driver-only";
        }
    }

    /** Every GPU of the node, each exclusively (NVIDIA_VISIBLE_DEVICES={@code all}). */
    record AllGpus() implements GpuRequest {
        @Override
        public String canonical() {
            return "whole:all";
        }
    }

    /** {@code count} whole GPUs, any ({@code pve-cri.io/gpu-count}). */
    record WholeCount(int count) implements GpuRequest {
        public WholeCount {
            if (count < 1) {
                throw new IllegalArgumentException("GPU count must be at least 1, got " + count);
            }
        }

        @Override
        public String canonical() {
            return "whole:count=" + count;
        }
    }

    /** These whole GPUs, by UUID or NVML index (NVIDIA_VISIBLE_DEVICES={@code 0,1} or {@code GPU-...}). */
    record WholeDevices(List<String> ids) implements GpuRequest {
        public WholeDevices {
            ids = List.copyOf(ids);
            if (ids.isEmpty()) {
                throw new IllegalArgumentException("at least one GPU id is required");
            }
        }

        @Override
        public String canonical() {
            return "whole:devices=" + String.join(",", ids);
        }
    }

    /**
     * A share of one GPU: {@code memoryMib} of its memory and/or {@code computePercent} of its
     * compute (0 = that dimension is neither reserved nor limited), optionally on a given GPU.
     */
    record Share(long memoryMib, int computePercent, Optional<String> device) implements GpuRequest {
        public Share {
            device = device == null ? Optional.empty() : device;
            if (memoryMib < 0 || computePercent < 0 || computePercent > 100) {
                throw new IllegalArgumentException("share out of range: memory " + memoryMib + " MiB, compute "
                        + computePercent + "%");
            }
            if (memoryMib == 0 && computePercent == 0) {
                throw new IllegalArgumentException("a share needs memory MiB or compute percent");
            }
        }

        public Share(long memoryMib, int computePercent) {
            this(memoryMib, computePercent, Optional.empty());
        }

        @Override
        public String canonical() {
            return "share:memory=" + memoryMib + "MiB,compute=" + computePercent + "%"
                    + device.map(d -> ",device=" + d).orElse("");
        }
    }
}
