package io.pvecri.image;

/** No image matches the given reference or id (in the store, or on the registry a pull asked). */
public final class ImageNotFoundException extends ImageCacheException {

    private final String reference;

    public ImageNotFoundException(String reference) {
        super("image not found: " + reference);
        this.reference = reference;
    }

    /** A registry does not have the image (or one of its blobs); {@code message} says which. */
    public ImageNotFoundException(String reference, String message) {
        super(message);
        this.reference = reference;
    }

    /** The reference or id the caller asked for, as given. */
    public String reference() {
        return reference;
    }
}
