package io.pvecri.image;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Maps the OCI config document to the public {@link ImageConfig}, dropping JSON nulls. */
final class ConfigMapping {

    private ConfigMapping() {
    }

    static ImageConfig toImageConfig(Oci.ConfigFile file) {
        Oci.ContainerConfig c = file.config();
        if (c == null) {
            return ImageConfig.empty();
        }
        return new ImageConfig(clean(c.entrypoint()), clean(c.cmd()), clean(c.env()), c.workingDir(), c.user(),
                c.stopSignal(), clean(c.labels()), sortedKeys(c.exposedPorts()), sortedKeys(c.volumes()));
    }

    private static List<String> clean(List<String> l) {
        return l == null ? null : l.stream().filter(Objects::nonNull).toList();
    }

    private static Map<String, String> clean(Map<String, String> m) {
        if (m == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (k != null && v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    private static List<String> sortedKeys(Map<String, Object> m) {
        return m == null ? List.of() : m.keySet().stream().filter(Objects::nonNull).sorted().toList();
    }
}
