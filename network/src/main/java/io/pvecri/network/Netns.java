package io.pvecri.network;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A network namespace commands run in: a namespace file entered with {@code nsenter --net=},
 * or (path null) the daemon's own namespace, the real host.
 */
record Netns(Path path) {
    static final Netns CURRENT = new Netns(null);

    static Netns of(Path path) {
        return path == null ? CURRENT : new Netns(path);
    }

    List<String> wrap(List<String> argv) {
        if (path == null) {
            return argv;
        }
        List<String> out = new ArrayList<>(argv.size() + 2);
        out.add("nsenter");
        out.add("--net=" + path);
        out.addAll(argv);
        return out;
    }

    @Override
    public String toString() {
        return path == null ? "host" : path.toString();
    }
}
