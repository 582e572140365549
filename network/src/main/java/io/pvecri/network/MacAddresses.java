package io.pvecri.network;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Locally administered unicast MACs: {@code 02:} + 5 bytes. */
final class MacAddresses {
    private static final SecureRandom RANDOM = new SecureRandom();

    private MacAddresses() {
    }

    /** The same MAC every time for the same StatefulSet pod: 02 + 5 bytes of sha256(namespace/name). */
    static String stable(String stableKey) {
        return format(InterfaceNames.sha256(stableKey));
    }

    static String random() {
        byte[] b = new byte[5];
        RANDOM.nextBytes(b);
        return format(b);
    }

    private static String format(byte[] five) {
        StringBuilder sb = new StringBuilder("02");
        HexFormat hex = HexFormat.of();
        for (int i = 0; i < 5; i++) {
            sb.append(':').append(hex.toHexDigits(five[i]));
        }
        return sb.toString();
    }
}
