package io.pvecri.gpu;

import java.util.Locale;

/**
 * What happens when a container's GPU usage stays above its share for a whole violation
 * window: {@link Warn} logs and counts, {@link Stop} also asks the daemon to stop the
 * container. Set per pod with {@code pve-cri.io/gpu-policy}, node default in
 * {@link GpuConfig#defaultQuota()}.
 */
public sealed interface QuotaPolicy {

    Warn WARN = new Warn();
    Stop STOP = new Stop();

    /** The name used in annotations, config, state files and metric labels. */
    String id();

    /** Log one line and count the violation. */
    record Warn() implements QuotaPolicy {
        @Override
        public String id() {
            return "warn";
        }
    }

    /** Count the violation and call the daemon's {@link Stopper} for the container (once). */
    record Stop() implements QuotaPolicy {
        @Override
        public String id() {
            return "stop";
        }
    }

    /** Parses {@code warn} or {@code stop} (any case, surrounding blanks ignored). */
    static QuotaPolicy parse(String text) throws InvalidGpuRequestException {
        return switch (text == null ? "" : text.strip().toLowerCase(Locale.ROOT)) {
            case "warn" -> WARN;
            case "stop" -> STOP;
            default -> throw new InvalidGpuRequestException(
                    "unknown GPU quota policy '" + text + "' (expected warn or stop)");
        };
    }
}
