# The classic MNIST MLP tutorial (Flatten, Dense 128, Dropout 0.2, Dense 10 softmax).
#
# Only the import lines differ from the Keras original (each is preceded by the
# Keras line it replaces, as a comment), plus the data lines: fastnn downloads
# nothing, so its bundled 8x8 handwritten digits stand in for MNIST. Those lines
# are marked "data". Run it as `python mnist_mlp.py`: it trains, prints the test
# accuracy and asserts it is above the stated threshold.

# import keras
import fastnn as keras

# from keras import layers
from fastnn import layers

# data: the Keras tutorial loads MNIST (28x28 images, pixels 0..255) with
#     (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
# here the 1,797 bundled 8x8 digit images (pixels 0..16) stand in for it
from fastnn.datasets import load_digits

x, y = load_digits(return_images=True)  # data
x_train, y_train = x[:1500], y[:1500]  # data
x_test, y_test = x[1500:], y[1500:]  # data
x_train, x_test = x_train / 16.0, x_test / 16.0  # data (MNIST: / 255.0)

keras.utils.set_random_seed(812)

model = keras.Sequential(
    [
        layers.Flatten(input_shape=(8, 8)),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

model.fit(x_train, y_train, epochs=50, verbose=2)
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=2)
print(f"test accuracy: {test_acc:.4f}")
# chance is 0.10
assert test_acc > 0.85, f"test accuracy {test_acc:.4f} is not above 0.85"
