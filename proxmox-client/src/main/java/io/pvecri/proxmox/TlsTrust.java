package io.pvecri.proxmox;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * How the client authenticates the PVE node's TLS certificate.
 *
 * <ul>
 *   <li>{@link Fingerprint}: pin the SHA-256 fingerprint of the node's leaf certificate (as
 *       {@code pvenode cert info} and {@code GET /nodes} {@code ssl_fingerprint} print it). Hostname
 *       verification is off: PVE's default certificates are issued to the node name, and the pin
 *       authenticates the peer by itself.</li>
 *   <li>{@link CaFile}: trust the PEM certificates in a file (e.g. a copy of {@code /etc/pve/pve-root-ca.pem});
 *       hostname verification is on.</li>
 *   <li>{@link SystemDefault}: the JDK's trust store, hostname verification on (a publicly trusted certificate).</li>
 * </ul>
 */
public sealed interface TlsTrust {

    /** Pinned SHA-256 leaf certificate fingerprint, kept in PVE's {@code AA:BB:...} form. */
    record Fingerprint(String sha256) implements TlsTrust {
        public Fingerprint {
            Objects.requireNonNull(sha256, "sha256");
            sha256 = canonical(sha256);
        }

        /** The 32 raw bytes. */
        public byte[] bytes() {
            return HexFormat.of().parseHex(sha256.replace(":", ""));
        }

        /** Formats digest bytes the way PVE prints fingerprints. */
        public static String format(byte[] digest) {
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
        }

        private static String canonical(String in) {
            String hex = in.strip().replace(":", "").toLowerCase(Locale.ROOT);
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException(
                        "fingerprint: expected a SHA-256 fingerprint (64 hex digits, optionally colon-separated), got '" + in + "'");
            }
            return format(HexFormat.of().parseHex(hex));
        }
    }

    /** Trust the PEM certificate(s) in this file. */
    record CaFile(Path pem) implements TlsTrust {
        public CaFile {
            Objects.requireNonNull(pem, "pem");
        }
    }

    /** The JDK default trust store. */
    record SystemDefault() implements TlsTrust {
    }

    static TlsTrust fingerprint(String sha256) {
        return new Fingerprint(sha256);
    }

    static TlsTrust caFile(Path pem) {
        return new CaFile(pem);
    }
}
