# ruff: noqa
# fmt: off
"""The user's notebook's networks, copied as written (shared/seed/000_80baa4442bbd995a.txt).

float64, column-major: features are (784, batch) and weights (n_out, n_in). Only two kinds of
line differ from the notebook: the per-epoch progress prints inside the training loops of
NeuralNetwork_3 and NeuralNetwork are removed (the benchmark calls train(..., EPOCHS=0) once
per epoch, and `iter % (EPOCHS / 10)` would divide by zero), and the three notebook cells'
imports are gathered here. Nothing is made faster or fixed: this is the baseline as the user
ran it, bugs included (NeuralNetwork never updates its biases; its min-max softmax caps the
probabilities). Do not lint or reformat this file.
"""
import sys

import numpy as np


# -- the notebook's label encoding (each cell repeats it) ---------------------------------
def one_hot_encoding(data):
    encoded = np.zeros((len(data), max(data) - min(data) + 1))
    for idx in range(len(data)):
        encoded[idx][data[idx]] = 1
    return encoded.T


# -- cell: 2 Layer NN(ReLU, Softmax) with batch ----------------------------------------
class NeuralNetwork_2():
    def __init__(self, n0, n1, n2):
        self.weight1 = np.random.rand(n1, n0) * 0.01
        self.weight2 = np.random.rand(n2, n1) * 0.01
        self.bias1 = np.random.rand(n1)
        self.bias2 = np.random.rand(n2)
    def linear_hypo(self, w, x, b):
        return (np.matmul(w, x).T + b).T
    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))
    def relu(self, z):
        return np.maximum(z, 0)
    def softmax(self, z):
        return np.exp(z) / np.exp(z).sum(axis=0) 
    def hypothesis(self, func, lh):
        if func == 'sigmoid':
            return self.sigmoid(lh)
        elif func == 'relu':
            return self.relu(lh)
        elif func == 'softmax':
            return self.softmax(lh)
        else:
            sys.exit('Error in hypothesis: There is no {} function'.format(func))
    def cost(self, y, hypo):
        # cross entropy
        sum = np.multiply(y, np.log(hypo)).sum(axis=0)
        return -np.average(sum)
    def train(self, features, labels, learning_rate, EPOCHS, batch_size):
        for iter in range(EPOCHS + 1):
            for batch in range(int(len(features[0]) / batch_size)):
                features_batch = features[:, batch * batch_size : (batch + 1) * batch_size]
                labels_batch = labels[:, batch * batch_size : (batch + 1) * batch_size]
                # layer1: relu, layer2: softmax, cost: cross-entropy
                z1 = self.linear_hypo(self.weight1, features_batch, self.bias1)
                layer1 = self.hypothesis('relu', z1)
                z2 = self.linear_hypo(self.weight2, layer1, self.bias2)
                layer2 = self.hypothesis('softmax', z2)
                # gradient
                dz2 = layer2 - labels_batch #this is same result when you use sigmoid and sigmoid's cost function(y*log(hypo) + (1-y)*log(1-hypo))
                dw2 = np.matmul(dz2, layer1.T)
                db2 = np.average(dz2, axis=1)

                dz1 = np.multiply(np.matmul(self.weight2.T, dz2), np.where(z1 > 0, 1, 0)) # relu gradient: if x > 0: 1 else: 0 => np.where(z1 > 0, 1, 0)
                dw1 = np.matmul(dz1, features_batch.T)
                db1 = np.average(dz1, axis=1)

                self.weight2 = self.weight2 - dw2 * learning_rate
                self.weight1 = self.weight1 - dw1 * learning_rate
                self.bias2 = self.bias2 - db2 * learning_rate
                self.bias1 = self.bias1 - db1 * learning_rate

                error = self.cost(labels_batch, layer2)
            #if iter % (EPOCHS / 10) == 0:
            #    print("iter: {:4} error: {:10.4f}".format(iter, error))
    def test_accuracy(self, features, labels):
        hypothesis = self.hypothesis('softmax', self.linear_hypo(self.weight2, self.hypothesis('relu', self.linear_hypo(self.weight1, features, self.bias1)), self.bias2))
        prob = np.average((np.argmax(hypothesis, axis=0) == np.argmax(labels, axis=0))) * 100
        print("Test Accuracy: {:10.4f}".format(prob))


# -- cell: 3 Layer NN(ReLU, Softmax) ----------------------------------------------------
class NeuralNetwork_3():
    def __init__(self, n0, n1, n2, n3):
        self.weight1 = np.random.rand(n1, n0) * 0.01
        self.weight2 = np.random.rand(n2, n1) * 0.01
        self.weight3 = np.random.rand(n3, n2) * 0.01
        self.bias1 = np.random.rand(n1)
        self.bias2 = np.random.rand(n2)
        self.bias3 = np.random.rand(n3)
    def linear_hypo(self, w, x, b):
        return (np.matmul(w, x).T + b).T
    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))
    def relu(self, z):
        return np.maximum(z, 0)
    def softmax(self, z):
        return np.exp(z) / np.exp(z).sum(axis=0)
    def hypothesis(self, func, lh):
        if func == 'sigmoid':
            return self.sigmoid(lh)
        elif func == 'relu':
            return self.relu(lh)
        elif func == 'softmax':
            return self.softmax(lh)
        else:
            sys.exit('Error in hypothesis: There is no {} function'.format(func))
    def cost(self, y, hypo):
        # cross entropy
        sum = np.multiply(y, np.log(hypo)).sum(axis=0)
        return -np.average(sum)
    def train(self, features, labels, learning_rate, EPOCHS, batch_size):
        for iter in range(EPOCHS + 1):
            for batch in range(int(len(features[0]) / batch_size)):
                features_batch = features[:, batch * batch_size : (batch + 1) * batch_size]
                labels_batch = labels[:, batch * batch_size : (batch + 1) * batch_size]
                # layer1: relu, layer2: relu, layer3: softmax, cost: cross-entropy
                z1 = self.linear_hypo(self.weight1, features_batch, self.bias1)
                layer1 = self.hypothesis('relu', z1)
                z2 = self.linear_hypo(self.weight2, layer1, self.bias2)
                layer2 = self.hypothesis('relu', z2)
                z3 = self.linear_hypo(self.weight3, layer2, self.bias3)
                layer3 = self.hypothesis('softmax', z3)
                # gradient
                dz3 = layer3 - labels_batch
                dw3 = np.matmul(dz3, layer2.T)
                db3 = np.average(dz3, axis=1)

                dz2 = np.multiply(np.matmul(self.weight3.T, dz3), np.where(z2 > 0, 1, 0))
                dw2 = np.matmul(dz2, layer1.T)
                db2 = np.average(dz2, axis=1)

                dz1 = np.multiply(np.matmul(self.weight2.T, dz2), np.where(z1 > 0, 1, 0))
                dw1 = np.matmul(dz1, features_batch.T)
                db1 = np.average(dz1, axis=1)

                self.weight3 = self.weight3 - dw3 * learning_rate
                self.weight2 = self.weight2 - dw2 * learning_rate
                self.weight1 = self.weight1 - dw1 * learning_rate
                self.bias3 = self.bias3 - db3 * learning_rate
                self.bias2 = self.bias2 - db2 * learning_rate
                self.bias1 = self.bias1 - db1 * learning_rate

                error = self.cost(labels_batch, layer3)
            # (progress print removed: the benchmark trains one epoch per call, EPOCHS=0)
    def test_accuracy(self, features, labels):
        layer1 = self.linear_hypo(self.weight1, features, self.bias1)
        layer1 = self.hypothesis('relu', layer1)
        layer2 = self.linear_hypo(self.weight2, layer1, self.bias2)
        layer2 = self.hypothesis('relu', layer2)
        layer3 = self.linear_hypo(self.weight3, layer2, self.bias3)
        hypothesis = self.hypothesis('softmax', layer3)
        prob = np.average((np.argmax(hypothesis, axis=0) == np.argmax(labels, axis=0))) * 100
        print("Test Accuracy: {:10.4f}".format(prob))


# -- cell: Multi Layers -----------------------------------------------------------------
class Func():
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))
    def relu(z):
        return np.maximum(z, 0)
    def softmax(z): #same column: one example => sum(axis=0): sum of all values of one example and divide each classes of one example by this sum
        return np.exp(z) / np.exp(z).sum(axis=0) #sum(axis=0) => add same column numbers and so #rows become 1
    def softmax_modified(z):
        #since softmax has exp and exp can make numbers too large very easily and it causes overflow in caculation
        z = (z - z.min()) / (z.max() - z.min())
        #print("z:", z, "softmax:", np.exp(z) / np.exp(z).sum(axis=0))
        return np.exp(z) / np.exp(z).sum(axis=0)

class Layer():
    def __init__(self, input_size, output_size, act_func):
        self.weight = np.random.rand(output_size, input_size) * 0.01
        self.bias = np.random.rand(output_size, 1) * 0.01
        self.act_func = act_func
        self.cache = None
    def linear(self, input):
        self.cache = np.matmul(self.weight, input) + self.bias #size: (n1, n0) * (n0, m) + (broadcasting)(n1, 1) => (n1, m)
        return self.cache
    def activate_func(self, input):
        if self.act_func == 'sigmoid':
            return Func.sigmoid(input)
        elif self.act_func == 'relu':
            return Func.relu(input)
        elif self.act_func == 'softmax':
            return Func.softmax_modified(input)
    def output(self, input):
        return self.forward(input)
    def forward(self, input):
        return self.activate_func(self.linear(input))
    def backward(self, gradient_next, hypo_before, lr): #next: next layer(outputlayer if this is hidden in 3layerNN), before: before layer(inputlayer if this is hidden in 3layerNN)
        if self.act_func == 'relu':
            dz = np.multiply(gradient_next, np.where(self.cache > 0, 1, 0))
        else: #sigmoid or softmax
            dz = gradient_next
        dw = np.matmul(dz, hypo_before.T)
        db = np.average(dz, axis=1)

        self.weight = self.weight - lr * dw
        if np.isnan(self.weight).any():
            print("BackProp Nan")
            print("dw:", dw, "dz", dz, "hypo_before", hypo_before)
            return None
        self.db = self.bias - lr * db
        return dz

class NeuralNetwork():
    def __init__(self, inputUnits, outputUnits, hiddenUnits, hiddenLayers, activation_func):
        self.Layers = [Layer(inputUnits, hiddenUnits, activation_func)]
        for i in range(hiddenLayers):
            self.Layers.append(Layer(hiddenUnits, hiddenUnits, activation_func))
        self.Layers.append(Layer(hiddenUnits, outputUnits, 'softmax'))

    def cost(self, hypo, label):
        #cross entropy
        total = np.multiply(label, np.log(hypo)).sum(axis=0)
        return -np.average(total)

    def train(self, input_, output_, batch_size, lr, EPOCHS):
        for iter in range(EPOCHS + 1):
            for i in range(int(len(input_[0]) / batch_size)):
                input = input_[:, i * batch_size : (i + 1) * batch_size]
                output = output_[:, i * batch_size : (i + 1) * batch_size]
                hypothesis = []

                #forward propagation
                for layer in self.Layers:
                    if layer == self.Layers[0]:
                        hypothesis.append(layer.forward(input))
                    else:
                        hypothesis.append(layer.forward(hypothesis[-1]))

                #Back propagation
                gradient = self.Layers[-1].backward(hypothesis[-1] - output, hypothesis[-2], lr)
                l = len(hypothesis)
                for idx in range(2, l):
                    temp = np.matmul(self.Layers[l - idx + 1].weight.T, gradient)
                    gradient = self.Layers[l - idx].backward(temp, hypothesis[l - idx - 1], lr)
                temp = np.matmul(self.Layers[1].weight.T, gradient)
                self.Layers[0].backward(temp, input, lr)
                
                error = self.cost(hypothesis[-1], output)
            # (progress print removed: the benchmark trains one epoch per call, EPOCHS=0)

    def test_accuracy(self, input, output):
        for layer in self.Layers:
            if layer == self.Layers[0]:
                hypo = layer.forward(input)
            else:
                hypo = layer.forward(hypo)
        prob = np.average((np.argmax(hypo, axis=0) == np.argmax(output, axis=0))) * 100
        print("Test Accuracy: {:10.4f}".format(prob))
