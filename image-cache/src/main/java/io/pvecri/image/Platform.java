package io.pvecri.image;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The platform a pull selects from a multi-platform index: {@code os/architecture[/variant]},
 * e.g. {@code linux/amd64}, {@code linux/arm64/v8}, {@code linux/arm/v7}. Variants are compared
 * after normalisation (arm64 without a variant is v8, arm is v7, amd64 is v1), as containerd does.
 *
 * @param variant empty when not given
 */
public record Platform(String os, String architecture, String variant) {

    private static final Pattern PART = Pattern.compile("[a-z0-9_.-]+");

    public Platform {
        Objects.requireNonNull(os, "os");
        Objects.requireNonNull(architecture, "architecture");
        variant = variant == null ? "" : variant;
    }

    /** The host: linux and this JVM's CPU architecture in Go's names. */
    public static Platform host() {
        return new Platform(HostPlatform.OS, HostPlatform.ARCHITECTURE, "");
    }

    /**
     * Parses {@code os/arch[/variant]} (lower case).
     *
     * @throws IllegalArgumentException with a message naming the bad part
     */
    public static Platform parse(String text) {
        String[] p = text == null ? new String[0] : text.split("/", -1);
        if (p.length < 2 || p.length > 3) {
            throw new IllegalArgumentException("platform '" + text + "' is not os/architecture[/variant], e.g. linux/arm64");
        }
        for (String part : p) {
            if (!PART.matcher(part).matches()) {
                throw new IllegalArgumentException("platform '" + text + "': '" + part
                        + "' must be lower-case letters, digits, '.', '_' or '-'");
            }
        }
        return new Platform(p[0], normalArch(p[1]), p.length == 3 ? p[2] : "");
    }

    private static String normalArch(String arch) {
        return switch (arch) {
            case "x86_64", "x86-64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> arch;
        };
    }

    private static String normalVariant(String arch, String variant) {
        String v = variant == null ? "" : variant.toLowerCase(Locale.ROOT);
        if (!v.isEmpty()) {
            return v;
        }
        return switch (arch) {
            case "arm64" -> "v8";
            case "arm" -> "v7";
            case "amd64" -> "v1";
            default -> "";
        };
    }

    /** True if an index entry for {@code os/architecture/variant} is an image for this platform. */
    boolean matches(String os, String architecture, String variant) {
        if (os == null || architecture == null) {
            return false;
        }
        String arch = normalArch(architecture);
        return this.os.equals(os) && this.architecture.equals(arch)
                && normalVariant(this.architecture, this.variant).equals(normalVariant(arch, variant));
    }

    boolean matches(Oci.Platform p) {
        return p != null && matches(p.os(), p.architecture(), p.variant());
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
}
