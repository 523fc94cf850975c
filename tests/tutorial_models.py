"""The models of the tutorials the project grew from, transcribed as the tutorials write them.

Each class keeps its tutorial's module names, layer order, biases and dropout places, and its
forward (a ReLU called as a function stays a function call). tests/test_tutorials.py checks
that the spec of the same name in specs/ builds a model whose state_dict these classes load
strictly, and that computes the same outputs with the same weights.

The tutorials (their titles; the texts are the project's seeds):

* T1 "A comprehensive guide to CNNs: architecture, forward pass, backpropagation, and practical
  implementations": AlexNet (PyTorch).
* T2 "Convolutional Neural Networks: Architecture and Components": the NumPy SimpleCNN of its
  "Manual Implementation (No Libraries)", and ConvNet (PyTorch).
* T3 "Convolutional Neural Networks (CNNs)" (Learn how CNNs process images ...): SimpleCNN,
  and transfer learning with torchvision's ResNet-18.
* T4 "Convolutional Neural Networks" (Simple CNN with Sequential API, Custom CNN using
  nn.Module, Deeper CNN Architecture): the Sequential MNIST model, TinyVGG, ConvBlock/DeepCNN.

Beyond them, M5 (raw-waveform audio, 1-D convolutions) of the torchaudio tutorial "Speech
Command Classification with torchaudio"; torchaudio is not needed, the class uses torch only.

CI has no torchvision, so ResNet-18 is transcribed from torchvision's torchvision/models/resnet.py
(the parts resnet18 uses: conv3x3, conv1x1, BasicBlock, ResNet with its initialisation); its
state_dict keys and shapes are checked against torchvision's own, measured in
tests/data/torchvision/.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------- T1


class AlexNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature_extraction = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(96, 256, 5, stride=1, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(256, 384, 3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 384, 3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
        )
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(9216, 4096)
        self.dropout = nn.Dropout(p=0.5)
        self.fc2 = nn.Linear(4096, 200)

    def forward(self, x):
        x = self.feature_extraction(x)
        x = self.flatten(x)
        x = self.fc1(x)
        x = nn.ReLU()(x)
        x = self.dropout(x)
        x = self.fc2(x)
        return x


# ---------------------------------------------------------------------------------------- T2
# The NumPy classes, as written (the tutorial also imports scipy.signal.convolve2d, which its
# code never calls; it is left out).


class Conv2D:
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        self.stride = stride
        self.padding = padding
        # Xavier initialization
        limit = np.sqrt(6.0 / (in_channels + out_channels) * self.kernel_size[0] * self.kernel_size[1])
        self.weights = np.random.uniform(-limit, limit, (out_channels, in_channels, *self.kernel_size))
        self.bias = np.zeros(out_channels)

    def forward(self, x):
        batch_size, in_c, in_h, in_w = x.shape
        k_h, k_w = self.kernel_size
        # Pad input
        if self.padding > 0:
            x_padded = np.pad(x, ((0, 0), (0, 0), (self.padding, self.padding),
                                  (self.padding, self.padding)), mode="constant")
        else:
            x_padded = x
        # Calculate output dimensions
        out_h = (in_h + 2 * self.padding - k_h) // self.stride + 1
        out_w = (in_w + 2 * self.padding - k_w) // self.stride + 1
        # Initialize output
        output = np.zeros((batch_size, self.out_channels, out_h, out_w))
        # Perform convolution
        for b in range(batch_size):
            for oc in range(self.out_channels):
                for ic in range(in_c):
                    for i in range(out_h):
                        for j in range(out_w):
                            i_start = i * self.stride
                            i_end = i_start + k_h
                            j_start = j * self.stride
                            j_end = j_start + k_w
                            patch = x_padded[b, ic, i_start:i_end, j_start:j_end]
                            output[b, oc, i, j] += np.sum(patch * self.weights[oc, ic])
                output[b, oc] += self.bias[oc]
        self.input = x_padded
        return output


class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size = pool_size if isinstance(pool_size, tuple) else (pool_size, pool_size)
        self.stride = stride

    def forward(self, x):
        batch_size, channels, in_h, in_w = x.shape
        pool_h, pool_w = self.pool_size
        out_h = (in_h - pool_h) // self.stride + 1
        out_w = (in_w - pool_w) // self.stride + 1
        output = np.zeros((batch_size, channels, out_h, out_w))
        self.mask = {}  # Store for backpropagation
        for b in range(batch_size):
            for c in range(channels):
                for i in range(out_h):
                    for j in range(out_w):
                        i_start = i * self.stride
                        i_end = i_start + pool_h
                        j_start = j * self.stride
                        j_end = j_start + pool_w
                        patch = x[b, c, i_start:i_end, j_start:j_end]
                        output[b, c, i, j] = np.max(patch)
                        # Store mask for backprop
                        max_idx = np.unravel_index(np.argmax(patch), patch.shape)
                        self.mask[(b, c, i, j)] = (i_start + max_idx[0], j_start + max_idx[1])
        return output


class SimpleCNNNumpy:
    """The tutorial's NumPy ``SimpleCNN`` (renamed here only to tell it from T3's)."""

    def __init__(self):
        self.conv1 = Conv2D(1, 8, kernel_size=3, padding=1)
        self.pool1 = MaxPool2D(pool_size=2, stride=2)
        self.conv2 = Conv2D(8, 16, kernel_size=3, padding=1)
        self.pool2 = MaxPool2D(pool_size=2, stride=2)

    def relu(self, x):
        return np.maximum(0, x)

    def forward(self, x):
        # Conv1 -> ReLU -> Pool1
        x = self.conv1.forward(x)
        x = self.relu(x)
        x = self.pool1.forward(x)
        # Conv2 -> ReLU -> Pool2
        x = self.conv2.forward(x)
        x = self.relu(x)
        x = self.pool2.forward(x)
        return x


class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super(ConvNet, self).__init__()  # noqa: UP008 (as the tutorial writes it)
        # Layer 1: Conv -> BatchNorm -> ReLU -> Pool
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        # Layer 2: Conv -> BatchNorm -> ReLU -> Pool
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        # Layer 3: Conv -> BatchNorm -> ReLU -> Pool
        self.conv3 = nn.Conv2d(64, 128, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(128)
        self.pool3 = nn.AdaptiveAvgPool2d((1, 1))
        # Classifier
        self.fc1 = nn.Linear(128, 256)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        # Layer 1
        x = self.conv1(x)
        x = self.bn1(x)
        x = F.relu(x)
        x = self.pool1(x)
        # Layer 2
        x = self.conv2(x)
        x = self.bn2(x)
        x = F.relu(x)
        x = self.pool2(x)
        # Layer 3
        x = self.conv3(x)
        x = self.bn3(x)
        x = F.relu(x)
        x = self.pool3(x)
        # Flatten and classify
        x = x.view(x.size(0), -1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout(x)
        x = self.fc2(x)
        return x


# ---------------------------------------------------------------------------------------- T3


class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),              # 28x28 -> 14x14
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),              # 14x14 -> 7x7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.classifier(x)
        return x


# torchvision's ResNet-18, transcribed (torchvision/models/resnet.py: the parts resnet18 uses).

def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def resnet18(num_classes=1000):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)


def resnet18_transfer(num_classes=10):
    """The tutorial's steps, on a ResNet-18 without downloaded weights (``pretrained=True`` in the
    tutorial; weights never change the structure)."""
    resnet = resnet18()
    # Freeze all layers
    for param in resnet.parameters():
        param.requires_grad = False
    # Replace final layer for our task
    resnet.fc = nn.Linear(resnet.fc.in_features, num_classes)
    # Only the new fc layer will be trained
    return resnet


# ---------------------------------------------------------------------------------------- T4


def mnist_sequential(input_channels=1, output_size=10):
    """The tutorial's ``model = nn.Sequential(...)`` (with ``input_channels, output_size = 1, 10``)."""
    return nn.Sequential(
        # First convolutional block
        nn.Conv2d(in_channels=input_channels, out_channels=16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # Output: 16x14x14
        # Second convolutional block
        nn.Conv2d(in_channels=16, out_channels=32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # Output: 32x7x7
        # Flatten and fully connected layers
        nn.Flatten(),  # Output: 32*7*7 = 1568
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, output_size),
    )


class TinyVGG(nn.Module):
    def __init__(self, input_channels=3, hidden_units=10, num_classes=10):
        super().__init__()
        # First convolutional block
        self.conv_block_1 = nn.Sequential(
            nn.Conv2d(in_channels=input_channels, out_channels=hidden_units, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(in_channels=hidden_units, out_channels=hidden_units, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Second convolutional block
        self.conv_block_2 = nn.Sequential(
            nn.Conv2d(in_channels=hidden_units, out_channels=hidden_units * 2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(in_channels=hidden_units * 2, out_channels=hidden_units * 2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Classifier
        self.classifier = nn.Sequential(
            nn.Flatten(),
            # Note: The actual input size will depend on the input image dimensions
            # For a 32x32 input image, after two 2x2 max pooling layers, the feature map size is 8x8
            nn.Linear(in_features=hidden_units * 2 * 8 * 8, out_features=num_classes),
        )

    def forward(self, x):
        x = self.conv_block_1(x)
        x = self.conv_block_2(x)
        x = self.classifier(x)
        return x


class ConvBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size,
                              stride=stride, padding=padding)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        x = F.relu(x)
        return x


class DeepCNN(nn.Module):
    def __init__(self, input_channels, hidden_channels, output_size):
        super().__init__()
        # First block: two convolutions followed by pooling
        self.block1 = nn.Sequential(
            ConvBlock(input_channels, hidden_channels),
            ConvBlock(hidden_channels, hidden_channels),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Second block: two convolutions followed by pooling
        self.block2 = nn.Sequential(
            ConvBlock(hidden_channels, hidden_channels * 2),
            ConvBlock(hidden_channels * 2, hidden_channels * 2),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        # Global average pooling and classifier
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(hidden_channels * 2, output_size)

    def forward(self, x):
        x = self.block1(x)
        x = self.block2(x)
        x = self.global_pool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


class M5(nn.Module):
    """M5 of the torchaudio tutorial "Speech Command Classification with torchaudio" (not one of
    the four seed tutorials), as it writes it; the tutorial builds M5(n_input=1, n_output=35)
    for one second of audio resampled to 8 kHz."""

    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(2 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(self.bn1(x))
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(self.bn2(x))
        x = self.pool2(x)
        x = self.conv3(x)
        x = F.relu(self.bn3(x))
        x = self.pool3(x)
        x = self.conv4(x)
        x = F.relu(self.bn4(x))
        x = self.pool4(x)
        x = F.avg_pool1d(x, x.shape[-1])
        x = x.permute(0, 2, 1)
        x = self.fc1(x)
        return F.log_softmax(x, dim=2)
