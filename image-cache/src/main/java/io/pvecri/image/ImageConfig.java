package io.pvecri.image;

import java.util.List;
import java.util.Map;

/**
 * The runtime-relevant part of an OCI image config ({@code config} object). Absent values are
 * empty lists/maps and empty strings, never null.
 */
public record ImageConfig(
        List<String> entrypoint,
        List<String> cmd,
        List<String> env,
        String workingDir,
        String user,
        String stopSignal,
        Map<String, String> labels,
        List<String> exposedPorts,
        List<String> volumes) {

    public ImageConfig {
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null ? "" : workingDir;
        user = user == null ? "" : user;
        stopSignal = stopSignal == null ? "" : stopSignal;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        exposedPorts = exposedPorts == null ? List.of() : List.copyOf(exposedPorts);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
    }

    public static ImageConfig empty() {
        return new ImageConfig(null, null, null, null, null, null, null, null, null);
    }
}
