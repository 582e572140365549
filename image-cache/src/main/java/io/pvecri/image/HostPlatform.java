package io.pvecri.image;

import java.util.Locale;

/** The platform images are selected for from multi-platform indexes: linux and this JVM's CPU. */
final class HostPlatform {

    static final String OS = "linux";
    static final String ARCHITECTURE = goArch(System.getProperty("os.arch", ""));

    private HostPlatform() {
    }

    static String goArch(String javaArch) {
        return switch (javaArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "386";
            case "ppc64le" -> "ppc64le";
            case "s390x" -> "s390x";
            case "riscv64" -> "riscv64";
            default -> javaArch;
        };
    }

    static boolean matches(Oci.Platform p) {
        if (p == null) {
            return true;
        }
        if (!OS.equals(p.os()) || !ARCHITECTURE.equals(p.architecture())) {
            return false;
        }
        if (ARCHITECTURE.equals("arm64")) {
            return p.variant() == null || p.variant().isEmpty() || p.variant().equals("v8");
        }
        return true;
    }

    static String describe() {
        return OS + "/" + ARCHITECTURE;
    }
}
