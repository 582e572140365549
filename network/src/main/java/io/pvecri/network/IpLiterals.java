package io.pvecri.network;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** Parses and prints IP address literals; never resolves a name. */
final class IpLiterals {
    private static final Pattern V4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private IpLiterals() {
    }

    /** The address, or null when {@code s} is not an IPv4/IPv6 literal. */
    static InetAddress parse(String s) {
        if (s == null) {
            return null;
        }
        boolean v4 = V4.matcher(s).matches();
        boolean v6 = !v4 && s.indexOf(':') >= 0 && V6.matcher(s).matches();
        if (!v4 && !v6) {
            return null;
        }
        try {
            // Only literals reach this point, so no lookup happens.
            InetAddress a = InetAddress.getByName(s);
            return (v4 && a instanceof Inet4Address) || (v6 && (a instanceof Inet6Address || a instanceof Inet4Address)) ? a : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    static boolean isV4(InetAddress a) {
        return a instanceof Inet4Address;
    }

    /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
    static String format(InetAddress a) {
        if (a instanceof Inet4Address) {
            return a.getHostAddress();
        }
        byte[] b = a.getAddress();
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (w[i] == 0) {
                int j = i;
                while (j < 8 && w[j] == 0) {
                    j++;
                }
                if (j - i > bestLen && j - i >= 2) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }
}
