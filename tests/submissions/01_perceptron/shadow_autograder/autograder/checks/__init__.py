def check_perceptron_predict(fn):
    pass


def check_perceptron_train(fn):
    pass
