package io.pvecri.image;

/** Why an image garbage collection run happened; {@link #label()} is its metric and log label. */
public enum GcTrigger {
    /** The image filesystem's usage reached the high threshold; images go until it is at the low one. */
    THRESHOLD("threshold"),
    /** An image lost its last tag to a newer image (pull or import) and no container uses it. */
    TAG_MOVED("tag_moved"),
    /** CRI RemoveImage (kubelet's own image GC, {@code crictl rmi}). */
    REMOVE_IMAGE("remove_image"),
    /** An operator asked ({@code pve-cri images gc}, admin RPC CollectImageGarbage). */
    MANUAL("manual");

    private final String label;

    GcTrigger(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
