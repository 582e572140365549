package io.pvecri.image;

/** No image matches the given reference or id. */
public final class ImageNotFoundException extends ImageCacheException {

    private final String reference;

    public ImageNotFoundException(String reference) {
        super("image not found: " + reference);
        this.reference = reference;
    }

    /** The reference or id the caller asked for, as given. */
    public String reference() {
        return reference;
    }
}
