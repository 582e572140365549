package io.pvecri.gpu;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a container's environment and its pod's annotations into a {@link GpuRequest} and
 * {@link QuotaSettings}. Every annotation may be scoped to one container by appending
 * {@code .<container name>} to its key; the scoped key wins over the pod-wide one, and a value
 * of {@code 0} switches a dimension off (so a sidecar can opt out of a pod-wide share).
 */
public final class GpuRequests {

    /** Set by the NVIDIA device plugin (or by hand): {@code all}, {@code none}, {@code void}, indices or UUIDs. */
    public static final String VISIBLE_DEVICES_ENV = "NVIDIA_VISIBLE_DEVICES";
    /** A share of this much GPU memory, in MiB. */
    public static final String MEMORY_MIB = "pve-cri.io/gpu-memory-mib";
    /** A share of this much GPU compute, in percent of one GPU (1..100). */
    public static final String COMPUTE_PERCENT = "pve-cri.io/gpu-compute-percent";
    /** This many whole GPUs, any free ones. */
    public static final String COUNT = "pve-cri.io/gpu-count";
    /** {@code warn} or {@code stop}. */
    public static final String POLICY = "pve-cri.io/gpu-policy";
    /** Consecutive samples over the share that make one violation (1..1000). */
    public static final String VIOLATION_WINDOW = "pve-cri.io/gpu-violation-window";

    /** 16 TiB: more than any GPU has; keeps the arithmetic far from overflow. */
    static final long MAX_MEMORY_MIB = 16L * 1024 * 1024;
    static final int MAX_COUNT = 64;

    private GpuRequests() {
    }

    /**
     * The request of container {@code containerName}.
     *
     * @param env         the container's environment (last value of a repeated key)
     * @param annotations the pod's annotations
     */
    public static GpuRequest request(String containerName, Map<String, String> env, Map<String, String> annotations)
            throws InvalidGpuRequestException {
        String visible = env.get(VISIBLE_DEVICES_ENV);
        long memory = number(annotations, MEMORY_MIB, containerName, 0, MAX_MEMORY_MIB);
        int compute = (int) number(annotations, COMPUTE_PERCENT, containerName, 0, 100);
        long count = number(annotations, COUNT, containerName, 0, MAX_COUNT);
        GpuRequest fromEnv = visibleDevices(visible);

        if (memory > 0 || compute > 0) {
            if (count > 0) {
                throw new InvalidGpuRequestException(COUNT + " and a GPU share (" + MEMORY_MIB + ", " + COMPUTE_PERCENT
                        + ") exclude each other");
            }
            return switch (fromEnv) {
                case GpuRequest.None n -> new GpuRequest.Share(memory, compute, Optional.empty());
                case GpuRequest.WholeDevices d when d.ids().size() == 1 ->
                        new GpuRequest.Share(memory, compute, Optional.of(d.ids().getFirst()));
                default -> throw new InvalidGpuRequestException("a GPU share is on one GPU, but "
                        + VISIBLE_DEVICES_ENV + "=" + visible + " names " + fromEnv.canonical());
            };
        }
        if (count > 0) {
            if (!(fromEnv instanceof GpuRequest.None)) {
                throw new InvalidGpuRequestException(COUNT + " and " + VISIBLE_DEVICES_ENV + "=" + visible
                        + " exclude each other");
            }
            return new GpuRequest.WholeCount((int) count);
        }
        return fromEnv;
    }

    /** The quota settings of container {@code containerName}, {@code defaults} where the pod says nothing. */
    public static QuotaSettings quota(String containerName, Map<String, String> annotations, QuotaSettings defaults)
            throws InvalidGpuRequestException {
        String policyText = annotation(annotations, POLICY, containerName);
        QuotaPolicy policy = policyText == null ? defaults.policy() : QuotaPolicy.parse(policyText);
        String windowText = annotation(annotations, VIOLATION_WINDOW, containerName);
        int window = windowText == null ? defaults.violationWindow()
                : (int) number(annotations, VIOLATION_WINDOW, containerName, 1, QuotaSettings.MAX_WINDOW);
        return new QuotaSettings(policy, window);
    }

    /** Parses NVIDIA_VISIBLE_DEVICES as nvidia-container-toolkit reads it. */
    static GpuRequest visibleDevices(String value) throws InvalidGpuRequestException {
        String v = value == null ? "" : value.strip();
        switch (v.toLowerCase(Locale.ROOT)) {
            case "", "void" -> {
                return new GpuRequest.None();
            }
            case "none" -> {
                return new GpuRequest.DriverOnly();
            }
            case "all" -> {
                return new GpuRequest.AllGpus();
            }
            default -> {
            }
        }
        Set<String> ids = new LinkedHashSet<>();
        for (String part : v.split(",", -1)) {
            String id = part.strip();
            if (id.isEmpty()) {
                throw new InvalidGpuRequestException(VISIBLE_DEVICES_ENV + "=" + value + " has an empty entry");
            }
            if (id.regionMatches(true, 0, "MIG-", 0, 4) || id.contains(":")) {
                throw new InvalidGpuRequestException(VISIBLE_DEVICES_ENV + " entry '" + id
                        + "': MIG devices are not supported");
            }
            boolean index = id.chars().allMatch(Character::isDigit) && id.length() <= 4;
            boolean uuid = id.startsWith("GPU-") && id.length() > 4 && id.length() < NvmlLibrary.UUID_BUFFER_SIZE
                    && id.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '-');
            if (!index && !uuid) {
                throw new InvalidGpuRequestException(VISIBLE_DEVICES_ENV + " entry '" + id
                        + "' is neither a GPU index nor a GPU-<uuid>");
            }
            ids.add(id);
        }
        return new GpuRequest.WholeDevices(new ArrayList<>(ids));
    }

    private static String annotation(Map<String, String> annotations, String key, String containerName) {
        if (containerName != null && !containerName.isEmpty()) {
            String scoped = annotations.get(key + "." + containerName);
            if (scoped != null) {
                return scoped;
            }
        }
        return annotations.get(key);
    }

    private static long number(Map<String, String> annotations, String key, String containerName, long min, long max)
            throws InvalidGpuRequestException {
        String text = annotation(annotations, key, containerName);
        if (text == null) {
            return 0;
        }
        long value;
        try {
            value = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new InvalidGpuRequestException("annotation " + key + "='" + text + "' is not a whole number");
        }
        if (value < min || value > max) {
            throw new InvalidGpuRequestException("annotation " + key + "=" + value + " is out of range " + min + ".." + max);
        }
        return value;
    }
}
