# MLP regression, written the way a Keras tutorial writes it.
#
# This script differs from its Keras original only in the import lines: each
# one is preceded by the Keras (or scikit-learn) line it replaces, as a comment.
# Run it as `python mlp_regression.py`: it trains, prints the test MAE and
# asserts it is below the stated threshold.
import numpy as np

# import keras
import fastnn as keras

# from keras import layers
from fastnn import layers

# from sklearn.preprocessing import StandardScaler
from fastnn.preprocessing import StandardScaler

# A synthetic regression problem: smooth non-linear target, features on very
# different scales (so standardising them matters), a little noise.
rng = np.random.default_rng(7)
n_samples, n_features = 2000, 8
x = rng.uniform(-2.0, 2.0, size=(n_samples, n_features))
y = (
    np.sin(2.0 * x[:, 0])
    + 0.5 * x[:, 1] ** 2
    - x[:, 2] * x[:, 3]
    + 0.3 * x[:, 4]
    + rng.normal(scale=0.1, size=n_samples)
)
x = x * np.array([1.0, 10.0, 100.0, 0.01, 5.0, 1.0, 1000.0, 0.1])

split = int(0.8 * n_samples)
x_train, x_test = x[:split], x[split:]
y_train, y_test = y[:split], y[split:]

scaler = StandardScaler()
x_train = scaler.fit_transform(x_train)
x_test = scaler.transform(x_test)

keras.utils.set_random_seed(812)

model = keras.Sequential(
    [
        layers.Dense(64, activation="relu", input_shape=(n_features,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(1),
    ]
)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])

history = model.fit(x_train, y_train, epochs=150, batch_size=32, validation_split=0.2, verbose=0)
print(f"final val_mae: {history.history['val_mae'][-1]:.4f}")

test_mse, test_mae = model.evaluate(x_test, y_test, verbose=0)
print(f"test MAE: {test_mae:.4f}")
# predicting the mean (or any linear model) gives a MAE of about 1.25 on this data
assert test_mae < 0.35, f"test MAE {test_mae:.4f} is not below 0.35"
