"""Olivetti faces: autoencoder codes next to PCA and TSNE, new faces, denoising.

1. 2-D codes of the 400 faces (40 people, 10 images each) from a VAE and a
   DenoisingAE, next to PCA and TSNE, coloured by person.
2. New faces: a VAE with a 16-D latent space, decoded draws from its prior.
3. A DenoisingAE trained with Gaussian noise of standard deviation 0.05
   removes such noise from faces it has not seen: noisy / denoised / clean.

About 4 minutes on 2 CPU cores.

    python examples/olivetti_faces.py [--out example-output/olivetti_faces]
"""

import matplotlib.pyplot as plt
import numpy as np
from _datasets import data_file, output_folder, save
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAE, DenoisingAE
from skvae.plotting import plot_images, plot_reconstructions

SHAPE = (64, 64)


def main():
    out = output_folder(__file__, __doc__.splitlines()[0])
    with np.load(data_file("olivetti.npz")) as data:
        faces = data["images"].reshape(400, -1) / 242.0  # as fetch_olivetti_faces
        person = data["target"]

    print("1. 2-D codes: VAE, DenoisingAE, PCA, TSNE")
    reducers = {
        "VAE": VAE(latent_dim=2, likelihood="bernoulli", random_state=0),
        "DenoisingAE": DenoisingAE(latent_dim=2, epochs=300, random_state=0),
        "PCA": PCA(n_components=2),
        "TSNE": TSNE(n_components=2, random_state=0),
    }
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    for ax, (name, reducer) in zip(axes, reducers.items()):
        codes = reducer.fit_transform(faces)
        knn = cross_val_score(KNeighborsClassifier(1), codes, person, cv=5).mean()
        print(f"  {name:12s} person identified by 1-NN on the codes: {knn:.2f}")
        ax.scatter(codes[:, 0], codes[:, 1], c=person % 20, cmap="tab20", s=10)
        ax.set_title(f"{name} (1-NN accuracy {knn:.2f})")
    save(fig, out, "codes.png")

    print("2. New faces from a VAE's prior")
    # pixel intensities in [0, 1]: a Bernoulli decoder gives smooth mean faces
    vae = VAE(latent_dim=16, likelihood="bernoulli", random_state=0)
    vae.fit(faces)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    plot_images(vae.sample(20, random_state=0), SHAPE, cmap="gray", ax=ax)
    ax.set_title("decoded draws from the prior of a 16-D VAE")
    save(fig, out, "generated.png")

    print("3. Denoising faces it has not seen")
    rng = np.random.RandomState(0)
    order = rng.permutation(400)
    train, test = faces[order[:320]], faces[order[320:]]
    dae = DenoisingAE(
        latent_dim=64,
        noise="gaussian",
        noise_level=0.05,
        architecture="conv",
        image_shape=SHAPE,
        epochs=200,
        random_state=0,
    ).fit(train)
    noisy = test + rng.normal(0, 0.05, test.shape)
    denoised = dae.denoise(noisy)
    pca = PCA(n_components=128).fit(train)
    projected = pca.inverse_transform(pca.transform(noisy))
    # with 320 training faces, no model here beats the noise itself in MSE
    # (the reconstructions are smoother but lose detail): look at the figure
    print(
        f"  MSE to the clean faces: noisy {np.mean((noisy - test) ** 2):.5f}, "
        f"denoised {np.mean((denoised - test) ** 2):.5f}, PCA (128 components) "
        f"{np.mean((projected - test) ** 2):.5f}"
    )
    fig = plt.figure(figsize=(12, 5))
    plot_reconstructions(dae, test, n=8, noisy=noisy, cmap="gray", fig=fig)
    save(fig, out, "denoising.png")


if __name__ == "__main__":
    main()
