package io.pvecri.image;

/** The image cannot be removed because containers (or an import in progress) still use it. */
public final class ImageInUseException extends ImageCacheException {

    private final String imageId;
    private final int references;

    public ImageInUseException(String imageId, int references, String detail) {
        super("image " + imageId + " is in use: " + detail);
        this.imageId = imageId;
        this.references = references;
    }

    public String imageId() {
        return imageId;
    }

    /** Number of containers referencing the image when removal was refused (0 if an import holds it). */
    public int references() {
        return references;
    }
}
