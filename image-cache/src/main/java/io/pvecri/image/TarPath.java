package io.pvecri.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Normalisation of tar entry names (and hardlink targets) to components relative to the
 * extraction root. Absolute names are taken relative to the root (as containerd does); empty
 * and {@code .} components are dropped; {@code ..} pops a component and is rejected when it
 * would climb above the root.
 */
final class TarPath {

    private TarPath() {
    }

    /**
     * @param what describes the entry for error messages, e.g. "layer sha256:... entry '../x'"
     * @return the components, empty for the root itself
     */
    static List<String> components(String name, String what) throws InvalidImageException {
        if (name == null || name.isEmpty()) {
            throw new InvalidImageException(what + ": empty name");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_TAR_NAME_BYTES) {
            throw new InvalidImageException(what + ": name is longer than " + Limits.MAX_TAR_NAME_BYTES + " bytes");
        }
        if (name.indexOf('\0') >= 0) {
            throw new InvalidImageException(what + ": name contains a NUL byte");
        }
        List<String> out = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (out.isEmpty()) {
                    throw new InvalidImageException(what + ": '..' climbs out of the root; refusing path traversal");
                }
                out.removeLast();
                continue;
            }
            out.add(c);
        }
        return out;
    }

    static String join(List<String> components) {
        return String.join("/", components);
    }
}
