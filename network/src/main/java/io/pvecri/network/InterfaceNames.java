package io.pvecri.network;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Names of the interfaces the library creates, and the checks on names it is given. */
final class InterfaceNames {
    /** Host end of a pod's veth: {@code pvc} + 8 hex characters. */
    static final String VETH_PREFIX = "pvc";
    /** Group bridges: {@code pvecri-g-} + 6 hex characters of sha256(group) (15 characters). */
    static final String GROUP_BRIDGE_PREFIX = "pvecri-g-";
    /** Interface name inside the pod. */
    static final String POD_IFNAME = "eth0";

    private static final Pattern HEX8 = Pattern.compile("[0-9a-f]{8}.*");
    private static final Pattern GROUP = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?");
    private static final Pattern POD_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private InterfaceNames() {
    }

    static boolean valid(String name) {
        return name != null && !name.isEmpty() && name.length() <= 15 && !name.equals(".") && !name.equals("..")
                && name.chars().noneMatch(c -> c == '/' || c == ':' || c == '"' || c == '\\' || Character.isWhitespace(c) || c < 0x21 || c > 0x7e);
    }

    static boolean validPodId(String podId) {
        return podId != null && POD_ID.matcher(podId).matches();
    }

    static boolean validGroup(String group) {
        return group != null && GROUP.matcher(group).matches();
    }

    /** {@code pvc<first 8 hex of the pod id>}; ids that do not start with 8 hex digits are hashed. */
    static String hostVeth(String podId) {
        String lower = podId.toLowerCase(java.util.Locale.ROOT);
        return VETH_PREFIX + (HEX8.matcher(lower).matches() ? lower.substring(0, 8) : sha256Hex(podId).substring(0, 8));
    }

    /** Alternative name when two pod ids share their first 8 hex digits. */
    static String hostVethAlternative(String podId) {
        return VETH_PREFIX + sha256Hex("veth/" + podId).substring(0, 8);
    }

    static String groupBridge(String group) {
        return GROUP_BRIDGE_PREFIX + sha256Hex(group).substring(0, 6);
    }

    static boolean isGroupBridge(String name) {
        return name.startsWith(GROUP_BRIDGE_PREFIX) && name.length() == GROUP_BRIDGE_PREFIX.length() + 6;
    }

    static boolean isHostVeth(String name) {
        return name.startsWith(VETH_PREFIX) && name.length() == VETH_PREFIX.length() + 8;
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Hex(String s) {
        return HexFormat.of().formatHex(sha256(s));
    }
}
