'''
#Trains an LSTM model on the IMDB sentiment classification task.

The dataset is actually too small for LSTM to be of any advantage
compared to simpler, much faster methods such as TF-IDF + LogReg.

**Notes**

- RNNs are tricky. Choice of batch size is important,
choice of loss and optimizer is critical, etc.
Some configurations won't converge.

- LSTM loss decrease patterns during training can be quite different
from what you see with CNNs/MLPs/etc.

'''
# The Keras example examples/imdb_lstm.py (Keras 2.3.1): Embedding, LSTM(128, dropout=0.2,
# recurrent_dropout=0.2), Dense sigmoid. Only the import lines differ from the original
# (each is preceded by the Keras line it replaces, as a comment), plus the data lines:
# fastnn downloads nothing, so a synthetic task of IMDB's form (word-index lists of varying
# length, binary labels; 5,000 + 5,000 of them rather than 25,000 + 25,000, so that the 15
# epochs fit in CI) stands in for keras.datasets.imdb. Those lines are marked "data". The
# last lines (marked "check") print the test accuracy and assert it. Run it as
# `python imdb_lstm.py`.
from __future__ import print_function

# from keras.preprocessing import sequence
from fastnn.preprocessing import sequence
# from keras.models import Sequential
from fastnn.models import Sequential
# from keras.layers import Dense, Embedding
from fastnn.layers import Dense, Embedding
# from keras.layers import LSTM
from fastnn.layers import LSTM
# from keras.datasets import imdb
from fastnn.datasets import make_sentiment  # data

max_features = 20000
# cut texts after this number of words (among top max_features most common words)
maxlen = 80
batch_size = 32

print('Loading data...')
x_all, y_all = make_sentiment(10000, num_words=max_features, min_len=10, max_len=120)  # data
(x_train, y_train) = (x_all[:5000], y_all[:5000])  # data
(x_test, y_test) = (x_all[5000:], y_all[5000:])  # data
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')

print('Pad sequences (samples x time)')
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('Build model...')
model = Sequential()
model.add(Embedding(max_features, 128))
model.add(LSTM(128, dropout=0.2, recurrent_dropout=0.2))
model.add(Dense(1, activation='sigmoid'))

# try using different optimizers and different optimizer configs
model.compile(loss='binary_crossentropy',
              optimizer='adam',
              metrics=['accuracy'])

print('Train...')
model.fit(x_train, y_train,
          batch_size=batch_size,
          epochs=15,
          validation_data=(x_test, y_test))
score, acc = model.evaluate(x_test, y_test,
                            batch_size=batch_size)
print('Test score:', score)
print('Test accuracy:', acc)
print(f"test accuracy: {acc:.4f}")  # check
# unseeded, as the original: the check is that it learned, well above chance (0.5)
assert acc > 0.8, f"test accuracy {acc:.4f} is not above 0.8"  # check
