package io.pvecri.daemon.streaming;

/** What a streaming URL is for; also the first path segment of the URL and the metrics tag. */
public enum Kind {
    EXEC("exec"), ATTACH("attach"), PORTFORWARD("portforward");

    private final String path;

    Kind(String path) {
        this.path = path;
    }

    public String path() {
        return path;
    }

    static Kind ofPath(String segment) {
        for (Kind k : values()) {
            if (k.path.equals(segment)) {
                return k;
            }
        }
        return null;
    }
}
