import '../../core/polyfills';
