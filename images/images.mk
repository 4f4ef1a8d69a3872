# Makefile fragment for the task images (include it from the top-level Makefile:
#   include images/images.mk
# ). Needs buildah (Debian package `buildah`); builds from scratch, no registry.
IMAGE_TAG ?= 0.1.0
# Empty: every image (an image whose Go main is missing is an error); else e.g. IMAGES="generate pipeline".
IMAGES ?=

.PHONY: images images-build images-smoke

# Build localhost/telcotraffic/<name>:$(IMAGE_TAG) for each image and run each one's smoke test
# inside it (buildah run: the program starts in the image and lists its flags). Cached by the
# hash of each image's root filesystem (its binaries): an unchanged tree only re-runs go build.
images:
	./images/build.sh --smoke --tag $(IMAGE_TAG) $(IMAGES)

# Build only, no smoke test.
images-build:
	./images/build.sh --tag $(IMAGE_TAG) $(IMAGES)

# The same as images (kept for old scripts).
images-smoke: images
